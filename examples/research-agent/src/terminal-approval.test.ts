import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { L402ApprovalInterrupt } from '@l402kit/langchain';
import { describe, expect, it } from 'vitest';
import { createTerminalApprover } from './terminal-approval.js';

function question(amountSats: number, description: string): L402ApprovalInterrupt {
  return {
    type: 'l402_payment_approval',
    id: `question-${amountSats}`,
    toolName: 'l402_fetch',
    url: 'http://127.0.0.1:8080/v1/articles/a',
    host: '127.0.0.1:8080',
    method: 'GET',
    amountSats,
    maxFeeSats: 0.2,
    payee: '02'.padEnd(66, 'a'),
    description,
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    message: '',
  };
}

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

describe('the demo asking at the terminal', () => {
  it('takes answers piped ahead one per question, and the end of the input is a no', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const written = collect(output);
    // Every answer arrives at once, before the first question, as with `printf 'y\nn\n' | demo`.
    input.end('y\nno\nyes\n');
    const approver = createTerminalApprover(input, output);
    const answers = [];
    for (const amount of [11, 28, 10, 7, 3]) {
      answers.push(await approver.ask(question(amount, `Article "${amount}" by Press`)));
    }
    approver.close();
    expect(answers).toEqual([true, false, true, false, false]);
    expect(written()).toContain(
      '?  Pay 11 sats (+ up to 0.2 sats fee) to 127.0.0.1:8080 for Article "11" by Press? [y/N] y\n',
    );
    expect(written()).toContain('? [y/N] (no answer: end of input)\n');
  });

  it('waits for an answer typed later', async () => {
    const input = new PassThrough();
    const approver = createTerminalApprover(input, new PassThrough());
    const answer = approver.ask(question(30, 'Report'));
    input.write('Y\n');
    expect(await answer).toBe(true);
    approver.close();
  });

  it('the demo process reads piped answers in order and finishes with its receipt', async () => {
    const root = join(import.meta.dirname, '..');
    const run = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [
          '--conditions=@l402kit/source',
          '--import',
          'tsx',
          'src/main.ts',
          '--budget-sats',
          '150',
          '--approve-above-sats',
          '5',
        ],
        { cwd: root, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' } },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error.code as number | null) ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end('y\nn\n');
    });
    const { code, stdout, stderr } = await run;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const asked = stdout.match(/^\? {2}Pay .*$/gm) ?? [];
    expect(asked.length).toBeGreaterThanOrEqual(3);
    expect(asked[0]).toMatch(/\? \[y\/N\] y$/);
    expect(asked[1]).toMatch(/\? \[y\/N\] n$/);
    for (const later of asked.slice(2)) expect(later).toMatch(/\(no answer: end of input\)$/);
    expect(stdout.match(/approved by you/g)).toHaveLength(1);
    expect(stdout).toContain('Receipt');
  }, 120_000);
});
