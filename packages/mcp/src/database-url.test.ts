import { DatabaseUnavailableError } from '@l402kit/core';
import { describe, expect, it } from 'vitest';
import { isDatabaseUrl, loadPostgres } from './database-url.js';

describe('loadPostgres', () => {
  it('says which package to install when @l402kit/postgres is not there', async () => {
    const error = await loadPostgres(
      'postgres://agent:hunter2@db.internal:5432/fleet',
      '@l402kit/postgres-not-installed',
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: false });
    expect((error as Error).message).toContain(
      'needs the optional package @l402kit/postgres-not-installed: install it beside l402kit (npm install @l402kit/postgres-not-installed)',
    );
    expect((error as Error).message).not.toMatch(/hunter2|db\.internal/);
  });

  it('loads the package in this workspace', async () => {
    const postgres = await loadPostgres('postgres://agent@db.internal/fleet');
    expect(postgres.describeDatabaseUrl('postgres://agent:hunter2@db.internal:5432/fleet')).toBe(
      'postgres://agent@db.internal:5432/fleet',
    );
  });

  it('refuses a URL that is not PostgreSQL without repeating it (a SQLite path, mysql://)', async () => {
    for (const url of ['/home/agent/l402kit.db', 'mysql://root:hunter2@db/app', '']) {
      expect(isDatabaseUrl(url)).toBe(false);
      const error = await loadPostgres(url).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', paid: false });
      expect((error as Error).message).toMatch(/must be a PostgreSQL URL/);
      if (url !== '') expect((error as Error).message).not.toContain(url);
    }
    expect(isDatabaseUrl('postgresql://agent@db/fleet')).toBe(true);
  });
});
