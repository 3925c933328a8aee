import type pg from 'pg';
import { type Connection, isRetryable, unavailable } from './connection.js';
import { requireSchema } from './schema.js';

/** Attempts per operation when the connection drops or the server asks to retry. */
const ATTEMPTS = 4;

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
  try {
    await requireSchema(connection);
  } catch (error) {
    throw unavailable(action, error);
  }
  for (let attempt = 0; ; attempt++) {
    let client: pg.PoolClient | undefined;
    try {
      client = await connection.pool.connect();
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
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * Math.random()));
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
