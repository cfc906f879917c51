import { randomBytes } from 'node:crypto';
import pg from 'pg';

export type TestDialect = 'sqlite' | 'postgres';

/** The PostgreSQL server the suite uses: TESSERA_TEST_DATABASE_URL, or the local one. */
export const TEST_PG_URL = process.env['TESSERA_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The dialects every integration suite runs on. PostgreSQL is part of the suite unless
 * TESSERA_TEST_POSTGRES=off says otherwise; an unreachable server then fails the tests
 * loudly rather than skipping them.
 */
export const DIALECTS: TestDialect[] = process.env['TESSERA_TEST_POSTGRES'] === 'off' ? ['sqlite'] : ['sqlite', 'postgres'];

/**
 * A fresh, empty PostgreSQL schema for one test file: its URL points the connections'
 * search_path at it, so test files (and concurrent runs) never see each other's rows.
 */
export async function createPgSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    await admin.query(`create schema ${schema}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}
