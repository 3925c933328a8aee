import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';
import { runInProcess } from './test-support.js';

const SECRET = '5f4e3d2c1b0a99887766554433221100';
const url = 'http://127.0.0.1:9/never-fetched';

async function usageError(argv: string[]): Promise<string> {
  const result = await runInProcess(argv, {});
  expect(result.code).toBe(EXIT_CODES.usage);
  expect(result.stdout).toBe('');
  return result.stderr;
}

describe('command line errors', () => {
  it('name the unknown option, without the value glued to it', async () => {
    const stderr = await usageError(['fetch', `--walet=lnbits://${SECRET}@host`, url]);
    expect(stderr).toBe('l402kit fetch: unknown option --walet (see --help)\n');
    expect(await usageError(['tokens', 'list', '-z'])).toContain('unknown option -z (see --help)');
  });

  it('never repeat an argument that is not an option name', async () => {
    const stderr = await usageError(['fetch', `--lnbits://${SECRET}@host`, url]);
    expect(stderr).toBe('l402kit fetch: unknown option (see --help)\n');
    expect(await usageError(['fetch', `--${SECRET}${SECRET}`, url])).not.toContain(SECRET);
  });

  it('say that a negative --max-sats is an invalid value, not a missing one', async () => {
    const stderr = await usageError(['fetch', '--max-sats', '-1', url]);
    expect(stderr).toBe('l402kit fetch: --max-sats -1: the value is invalid (see --help)\n');
    expect(await usageError(['fetch', '--max-sats=-1', url])).toContain(
      '--max-sats must be a positive number of sats',
    );
  });

  it('say which option is missing its value, or takes none', async () => {
    expect(await usageError(['fetch', url, '--max-sats'])).toBe(
      'l402kit fetch: --max-sats is missing its value (see --help)\n',
    );
    expect(await usageError(['fetch', '-X', '--silent', url])).toContain(
      '-X is missing its value (see --help)',
    );
    expect(await usageError(['fetch', '--dry-run=yes', url])).toContain(
      '--dry-run takes no value (see --help)',
    );
  });
});
