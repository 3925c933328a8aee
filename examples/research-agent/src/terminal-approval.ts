import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { L402ApprovalInterrupt } from '@l402kit/langchain';

export interface TerminalApprover {
  /** Asks one y/n question; anything but y/yes, or the end of the input, is a no. */
  ask(question: L402ApprovalInterrupt): Promise<boolean>;
  close(): void;
}

/**
 * Asks the person at the terminal before each purchase above the threshold. One line reader
 * for the whole run: answers typed (or piped) ahead are kept for the next questions, and the
 * end of the input answers no instead of leaving the run waiting forever.
 */
export function createTerminalApprover(input: Readable, output: Writable): TerminalApprover {
  const reader = createInterface({ input, terminal: false });
  const lines: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  let ended = false;
  reader.on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  reader.on('close', () => {
    ended = true;
    for (const waiter of waiters.splice(0)) waiter(undefined);
  });
  const nextLine = (): Promise<string | undefined> => {
    if (lines.length > 0) return Promise.resolve(lines.shift());
    if (ended) return Promise.resolve(undefined);
    return new Promise((resolve) => waiters.push(resolve));
  };
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  return {
    async ask(question) {
      const fee = question.maxFeeSats > 0 ? ` (+ up to ${question.maxFeeSats} sats fee)` : '';
      const title = question.description ? ` for ${question.description}` : '';
      output.write(`?  Pay ${question.amountSats} sats${fee} to ${question.host}${title}? [y/N] `);
      const answer = await nextLine();
      // A typed answer ends its own line; a piped one (or none) is shown, so output stays readable.
      if (!interactive) output.write(`${answer ?? '(no answer: end of input)'}\n`);
      return /^y(es)?$/i.test((answer ?? '').trim());
    },
    close() {
      reader.close();
    },
  };
}
