import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bytesToHex, mintMacaroon, sha256Hex } from '@l402kit/core';
import type { SandboxNode } from '@l402kit/sandbox';
import type { CliIo } from './cli-io.js';
import { runCli } from './run-cli.js';

/** A temporary home for ~/.l402kit, removed by `cleanup`. */
export async function temporaryHome() {
  const home = await mkdtemp(join(tmpdir(), 'l402kit-cli-'));
  return {
    home,
    env: {
      L402KIT_TOKEN_FILE: join(home, 'tokens.json'),
      L402KIT_SPEND_LOG: join(home, 'spend.jsonl'),
      L402KIT_DB: join(home, 'l402kit.db'),
      // These tests look at the token and spend files; the database has tests of its own.
      L402KIT_NO_DB: '1',
    },
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

/** Runs `l402kit` in this process with captured output. */
export async function runInProcess(argv: string[], env: CliIo['env'], home?: string) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env,
    home,
    stdout: { write: (chunk) => (stdout += Buffer.from(chunk).toString()) },
    stderr: { write: (chunk) => (stderr += chunk) },
  });
  return { code, stdout, stderr };
}

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const binary = fileURLToPath(new URL('./bin.ts', import.meta.url));

/**
 * Spawns the real `l402kit` executable (from source, through tsx) with a HOME of its own,
 * removed when it exits: a test that sets no L402KIT_DB never reaches the real ~/.l402kit.
 */
function spawnCli(argv: string[], env: Record<string, string>) {
  const home = mkdtempSync(join(tmpdir(), 'l402kit-cli-home-'));
  const child = spawn(
    process.execPath,
    ['--conditions=@l402kit/source', '--import', 'tsx', binary, ...argv],
    {
      cwd: repositoryRoot,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', HOME: home, ...env },
    },
  );
  child.once('close', () => rmSync(home, { recursive: true, force: true }));
  return child;
}

/** Runs the real `l402kit` executable as a child process. */
export function runProcess(argv: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawnCli(argv, env);
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the real `l402kit` executable and reads its stdout and stderr line by line. */
export function startProcess(argv: string[], env: Record<string, string> = {}) {
  const child = spawnCli(argv, env);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const errorLines = createInterface({ input: child.stderr })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, lines, errorLines, exited };
}

/** Reads lines until one matches `pattern`; returns every line read. */
export async function readUntil(lines: AsyncIterator<string>, pattern: RegExp): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`output ended before ${pattern}: ${seen.join('\n')}`);
    seen.push(value);
    if (pattern.test(value)) return seen;
  }
}

export interface ApertureLikeServer {
  url: string;
  /** Authorization headers received, in order. */
  authorizations: string[];
  close(): Promise<void>;
}

/**
 * A server that answers as aperture does: two WWW-Authenticate lines (`LSAT ...` then
 * `L402 ...`) on a 402, and accepts only `(LSAT|L402) <macaroon>:<64 lower-case hex>`. Once
 * paid it echoes the method, body and the X-Test header.
 */
export async function startApertureLikeServer(
  seller: SandboxNode,
  priceSats: number,
): Promise<ApertureLikeServer> {
  const rootKey = randomBytes(32);
  const issued = new Map<string, string>();
  const authorizations: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const authorization = request.headers.authorization;
      if (authorization !== undefined) authorizations.push(authorization);
      const match = /^(LSAT|L402) (.*?):([a-f0-9]{64})$/.exec(authorization ?? '');
      const paymentHash = match ? issued.get(match[2]!) : undefined;
      if (match && paymentHash === sha256Hex(Buffer.from(match[3]!, 'hex'))) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            method: request.method,
            body: Buffer.concat(chunks).toString(),
            test: request.headers['x-test'] ?? null,
          }),
        );
        return;
      }
      const invoice = seller.createInvoice({ amountSats: priceSats, description: 'aperture' });
      const macaroon = mintMacaroon({
        rootKey,
        identifier: {
          version: 0,
          paymentHash: invoice.paymentHash,
          tokenId: bytesToHex(randomBytes(32)),
        },
        location: 'aperture',
        caveats: ['services=test:0'],
      });
      issued.set(macaroon, invoice.paymentHash);
      response.writeHead(402, [
        ['WWW-Authenticate', `LSAT macaroon="${macaroon}", invoice="${invoice.invoice}"`],
        ['WWW-Authenticate', `L402 macaroon="${macaroon}", invoice="${invoice.invoice}"`],
        ['Content-Type', 'text/plain'],
      ]);
      response.end('payment required');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
