// Issue 13, item 2: L402KIT_DATABASE_URL (or --database-url) moves the CLI's and the MCP
// server's durable budgets, tokens and spend log from SQLite to a real PostgreSQL (started by
// the test on loopback), shared by separate processes; per-session budgets stay in memory
// under the shared levels; `l402kit db migrate` creates the tables; and no password or query
// of the URL appears in any output or error.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMcpServer } from '@l402kit/mcp';
import { migrate } from '@l402kit/postgres';
import { type LnbitsReproduction, startLnbitsReproduction } from '@l402kit/wallets/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess, runProcess } from '../packages/cli/src/test-support.js';
import { startTestDatabase, type TestDatabase } from '../packages/postgres/src/test-support.js';
import { fetchTool, startMcpStdioServer } from './support/mcp-stdio-server.js';
import { type PaidApi, startPaidApi } from './support/paid-api.js';

const ADMIN_KEY = 'e5'.repeat(16);
// A query parameter is as secret as the password: some drivers echo options.
const QUERY_SECRET = 'application_name=l402kit-query-secret';

let database: TestDatabase;
let api: PaidApi;
let lnbits: LnbitsReproduction;
let home: string;
let password: string;
let databaseUrl: string;
let otherDatabaseUrl: string;
let admin: pg.Pool;

beforeAll(async () => {
  database = await startTestDatabase();
  admin = database.pool({ max: 2 });
  // The CLI uses the schema "l402kit"; a shared test server starts without it.
  await admin.query('DROP SCHEMA IF EXISTS l402kit CASCADE');
  const url = new URL(database.url);
  password = decodeURIComponent(url.password);
  url.search = `?${QUERY_SECRET}`;
  databaseUrl = url.href;
  // A database nobody migrated.
  const other = `l402kit_unmigrated_${process.pid}`;
  await admin.query(`DROP DATABASE IF EXISTS ${other}`);
  await admin.query(`CREATE DATABASE ${other}`);
  url.pathname = `/${other}`;
  otherDatabaseUrl = url.href;
  api = await startPaidApi({ payerBalanceSats: 1_000 });
  lnbits = await startLnbitsReproduction({
    wallet: api.payer.wallet,
    adminKey: ADMIN_KEY,
    invoiceKey: 'f6'.repeat(16),
  });
  home = await mkdtemp(join(tmpdir(), 'l402kit-postgres-config-'));
}, 120_000);

afterAll(async () => {
  await admin?.query('DROP SCHEMA IF EXISTS l402kit CASCADE').catch(() => {});
  await admin?.query(`DROP DATABASE IF EXISTS l402kit_unmigrated_${process.pid}`).catch(() => {});
  await lnbits?.close();
  await api?.close();
  await database?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

/** The environment of an operator whose machines share the database. */
function environment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    L402KIT_WALLET: `lnbits://${ADMIN_KEY}@${new URL(lnbits.url).host}?tls=false`,
    L402KIT_ALLOW_PRIVATE_NETWORK: '1',
    L402KIT_DATABASE_URL: databaseUrl,
    // Were the SQLite file used, it would be here: it must never be created.
    HOME: home,
    ...extra,
  };
}

function expectNoSecret(text: string) {
  expect(text).not.toContain(password);
  expect(text).not.toContain('query-secret');
  expect(text).not.toContain(ADMIN_KEY);
}

describe('the CLI on PostgreSQL', () => {
  it('migrates with `l402kit db migrate`, then shares budget levels, tokens and the spend log across processes', async () => {
    const env = environment();
    const migrated = await runInProcess(['db', 'migrate'], env, home);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toMatch(
      /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres: schema "l402kit" migrated from version 0 to 2\n$/,
    );
    const again = await runInProcess(['db', 'migrate', '--database-url', databaseUrl], {}, home);
    expect(again.stdout).toContain('already at version 2; nothing to do');

    const set = await runInProcess(['budget', 'set', 'daily', '--max-sats', '25'], env, home);
    expect(set.code, set.stderr).toBe(0);

    // Three separate processes: the level in PostgreSQL binds them together.
    const fetches = [];
    for (const path of ['/a', '/b', '/c']) {
      fetches.push(await runProcess(['fetch', `${api.url}${path}`, '--max-sats', '20'], env));
    }
    expect(fetches.map((result) => result.code)).toEqual([0, 0, 3]);
    expect(fetches[2]!.stderr).toMatch(
      /BUDGET_EXCEEDED[\s\S]*budget "daily"[\s\S]*Nothing was paid/,
    );
    expect(api.merchant.balanceMsat).toBe(20_000n);

    // A fourth process reuses the token another one bought: nothing paid.
    const reused = await runProcess(['fetch', `${api.url}/a`], env);
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.stderr).toContain('used a token bought earlier');
    expect(api.merchant.balanceMsat).toBe(20_000n);

    const listed = await runInProcess(['budget', 'list', '--json'], env, home);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ name: 'daily', limitMsat: '25000', spentMsat: '20000' }),
    ]);
    const spend = await runInProcess(['spend', '--json'], env, home);
    const entries = spend.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(entries.map((entry) => entry.outcome)).toEqual(['paid', 'paid']);
    const tokens = await runInProcess(['tokens', 'list'], env, home);
    expect(tokens.stdout).toContain(`${api.url}/a`);

    // Nothing went to a SQLite file.
    const files = await import('node:fs/promises').then((fs) => fs.readdir(home));
    expect(files).toEqual([]);
    for (const result of [migrated, again, set, ...fetches, reused, listed, spend, tokens]) {
      expectNoSecret(result.stdout + result.stderr);
    }
  });

  it('fails closed, exit 9, naming what to run, and never shows the password', async () => {
    const unmigrated = await runInProcess(
      ['budget', 'list'],
      environment({ L402KIT_DATABASE_URL: otherDatabaseUrl }),
      home,
    );
    expect(unmigrated.code).toBe(9);
    expect(unmigrated.stderr).toMatch(/DATABASE_UNAVAILABLE|no l402kit tables/);
    expect(unmigrated.stderr).toContain('`l402kit db migrate`');

    const wrong = new URL(databaseUrl);
    wrong.password = 'hunter2-wrong';
    const refused = await runProcess(
      ['fetch', `${api.url}/d`],
      environment({ L402KIT_DATABASE_URL: wrong.href }),
    );
    expect(refused.code).toBe(9);
    expect(refused.stderr).toContain('password authentication failed');
    expect(refused.stderr).not.toContain('hunter2');

    const notPostgres = await runInProcess(
      ['fetch', `${api.url}/d`, '--database-url', 'mysql://root:hunter2@db/app'],
      environment(),
      home,
    );
    expect(notPostgres.code).toBe(9);
    expect(notPostgres.stderr).toContain('must be a PostgreSQL URL');
    expect(notPostgres.stderr).not.toContain('hunter2');

    const both = await runInProcess(
      ['budget', 'list', '--db', join(home, 'x.db')],
      environment(),
      home,
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
    expect(api.merchant.balanceMsat).toBe(20_000n);
    for (const result of [unmigrated, refused, notPostgres, both]) {
      expectNoSecret(result.stdout + result.stderr);
    }
  });
  it('db migrate refuses a wrong password or a newer schema with exit 9, saying why, no password shown', async () => {
    const wrong = new URL(databaseUrl);
    wrong.password = 'not-the-password';
    const refused = await runInProcess(['db', 'migrate', '--database-url', wrong.href], {}, home);
    expect(refused.code).toBe(9);
    expect(refused.stderr).toMatch(/PostgreSQL could not migrate the schema/);
    expect(refused.stderr).not.toContain('not-the-password');
    // A schema a newer l402kit migrated: left as it is, and the message says what to upgrade.
    const schema = database.freshSchema();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.schema_version (version integer PRIMARY KEY)`);
    await admin.query(`INSERT INTO ${schema}.schema_version VALUES (999)`);
    const newer = await migrate(admin, { schema }).catch((error: unknown) => error);
    expect(newer).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: false });
    expect(String(newer)).toMatch(
      /version 999, newer than this l402kit .*upgrade @l402kit\/postgres/,
    );
    for (const result of [refused]) expectNoSecret(result.stdout + result.stderr);
  });
});

describe('MCP servers on PostgreSQL', () => {
  it('share one total across processes; each session budget stays in memory under it', async () => {
    // Two servers (two machines' agents) with a fleet total of 35 sats, 15 per session (each 10-sat payment reserves 12 with its fee).
    const env = environment({
      L402KIT_TOTAL_BUDGET_SATS: '35',
      L402KIT_TOTAL_BUDGET_NAME: 'fleet',
      L402KIT_BUDGET_SATS: '15',
    });
    // The first test's daily level binds these servers too: room for them.
    await runInProcess(['budget', 'set', 'daily', '--max-sats', '1000'], env, home);
    const first = await startMcpStdioServer(env);
    const second = await startMcpStdioServer(env);
    try {
      const spentBefore = api.merchant.balanceMsat;
      expect((await fetchTool(first.client, `${api.url}/mcp/1`)).text).toContain('Paid 10 sats');
      // The session's own 15 sats are the limit here, whatever the fleet has left.
      const overSession = await fetchTool(first.client, `${api.url}/mcp/2`);
      expect(overSession.isError).toBe(true);
      expect(overSession.text).toContain('BUDGET_EXCEEDED');
      expect(overSession.text).toMatch(/limit 15 sats/);
      expect((await fetchTool(second.client, `${api.url}/mcp/3`)).text).toContain('Paid 10 sats');
      // A third server gives its sessions 100 sats, but the fleet has only 15 left: one more payment.
      const third = await startMcpStdioServer({ ...env, L402KIT_BUDGET_SATS: '100' });
      try {
        expect((await fetchTool(third.client, `${api.url}/mcp/4`)).text).toContain('Paid 10 sats');
        const overFleet = await fetchTool(third.client, `${api.url}/mcp/5`);
        expect(overFleet.isError).toBe(true);
        expect(overFleet.text).toMatch(/budget "fleet": limit 35 sats, spent 30 sats/);
        // The token one server bought is used by another.
        const reused = await fetchTool(third.client, `${api.url}/mcp/1`);
        expect(reused.text).toContain('Used a token bought earlier; nothing paid now.');
      } finally {
        await third.client.close();
      }
      expect(api.merchant.balanceMsat - spentBefore).toBe(30_000n);
      // Only the shared levels are in the database; sessions were in memory.
      const levels = await admin.query('SELECT name FROM l402kit.ledger_levels ORDER BY name');
      expect(levels.rows.map((row) => row.name)).toEqual(['daily', 'fleet']);
      expect(first.logs()).toMatch(
        /budgets, tokens and spend log in postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres \(schema l402kit\)/,
      );
      expect(first.logs()).toContain('shared by every process using the database');
      expectNoSecret(first.logs() + second.logs());
    } finally {
      await first.client.close();
      await second.client.close();
    }
  });

  it('refuses to start on a database nobody migrated, without showing the password', async () => {
    let logs = '';
    const error = await runMcpServer([], environment({ L402KIT_DATABASE_URL: otherDatabaseUrl }), {
      stderr: { write: (text: string) => (logs += text) },
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: false });
    expect((error as Error).message).toContain('`l402kit db migrate`');
    expectNoSecret(`${String(error)} ${JSON.stringify(error)} ${logs}`);
  });
});
