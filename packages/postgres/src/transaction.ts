import type pg from 'pg';
import { type Connection, isRetryable, listenForErrors, unavailable } from './connection.js';
import { requireSchema } from './schema.js';

/**
 * Attempts per operation when connections drop or the server asks to retry: enough to ride
 * out a burst of dropped connections or a failover (the waits between them add up to about
 * 1.5 s), few enough that a database that is down fails the call, nothing paid, instead of
 * hanging it. Counted in attempts, not time: waiting for a free connection is not failing.
 */
const ATTEMPTS = 10;

/**
 * Runs `work` in one transaction on a pooled connection and commits it. A dropped
 * connection, a deadlock or a serialization failure rolls the transaction back on the server,
 * so `work` is tried again on another connection; `attempt` (0 first) lets work that may
 * have committed just before the connection dropped look for its own result first. Any
 * other failure becomes a typed error that says nothing was paid.
 */
export async function transaction<T>(
  connection: Connection,
  action: string,
  work: (client: pg.PoolClient, attempt: number) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  return withClient(connection, action, async (client, attempt) => {
    await client.query(begin);
    const result = await work(client, attempt);
    await client.query('COMMIT');
    return result;
  });
}

/** Runs `work` (single statements, no transaction) on a pooled connection, retried like `transaction`. */
export async function withClient<T>(
  connection: Connection,
  action: string,
  work: (client: pg.PoolClient, attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let client: pg.PoolClient | undefined;
    try {
      client = await connection.pool.connect();
      listenForErrors(client);
      await requireSchema(connection, client);
      const result = await work(client, attempt);
      client.release();
      return result;
    } catch (error) {
      if (client !== undefined) {
        // A transaction still open is rolled back; a broken connection is closed, not reused.
        const broken = isRetryable(error) || !(await rollback(client));
        client.release(broken ? toError(error) : undefined);
      }
      if (!isRetryable(error) || attempt + 1 >= ATTEMPTS) throw unavailable(action, error);
      // Jittered, so that workers cut off together do not come back together.
      const backoff = Math.min(250, 5 * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, backoff * (0.5 + Math.random() / 2)));
    }
  }
}

async function rollback(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
