/** Where a command writes; the real process streams, or buffers in tests. */
export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
  stdin?: NodeJS.ReadableStream;
  /** Home directory for ~/.l402kit; default os.homedir(). */
  home?: string;
}

/** Colours and progress only on a terminal (and never with NO_COLOR); plain text when piped. */
export function styles(stream: { isTTY?: boolean }, env: CliIo['env']) {
  const on = stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
  const wrap = (open: number, close: number) => (text: string) =>
    on ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    enabled: on,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
  };
}

/** Left-aligned text columns, right-aligned numbers: for tokens and spend listings. */
export function formatTable(header: string[], rows: string[][], numeric: number[] = []): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const render = (row: string[]) =>
    row
      .map((cell, column) =>
        numeric.includes(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)].join('\n');
}
