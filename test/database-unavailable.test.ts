import SQLite from 'better-sqlite3';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseAvailability, isDatabaseUnavailable } from '../src/db/availability.ts';
import { DIALECTS, TEST_PG_URL } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const NEW_KEY = (name: string) => ({ method: 'POST' as const, url: '/api/v1/access-keys', payload: { name, roles: [{ role: 'global-viewer' }] } });

describe('which errors mean "the database cannot serve now"', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a connection lost under a query', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['PostgreSQL shutting down', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['PostgreSQL starting up', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    ['PostgreSQL out of connections', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
    ['SQLite locked beyond busy_timeout', Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })],
    ['SQLite out of disk', Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })],
    ['SQLite I/O error', Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' })],
  ])('%s is an outage', (_what, error) => expect(isDatabaseUnavailable(error)).toBe(true));

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a syntax error (a bug)', Object.assign(new Error('syntax error'), { code: '42601' })],
    ['a SQLite constraint', Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' })],
    ['a corrupt SQLite file (retrying does not help)', Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' })],
    ['a programming error', new TypeError('x is undefined')],
  ])('%s is not', (_what, error) => expect(isDatabaseUnavailable(error)).toBe(false));
});

describe.each(DIALECTS)('a database that cannot serve answers 503 database_unavailable (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'admin' })).token;
  });
  afterAll(() => h?.close());

  const expectUnavailable = (res: { statusCode: number; headers: Record<string, unknown>; body: string }) => {
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('5');
    expect(JSON.parse(res.body)).toMatchObject({ code: 'database_unavailable', status: 503 });
    expect(res.body).not.toMatch(/SQLITE|locked|disk|\bat /);
  };

  it('logs one warning per outage however many requests fail, and one line when a probe finds it over', async () => {
    const lines: Array<{ level: number; msg: string; failures?: number }> = [];
    const recording = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const availability = new DatabaseAvailability(h.ctx.storage, recording);
    try {
      const lost = new Error('Connection terminated unexpectedly');
      for (let i = 0; i < 50; i++) availability.failed(lost);
      expect(availability.down).toBe(true);
      expect(lines.map((l) => l.msg)).toEqual(['database unavailable: answering 503 database_unavailable to requests that need it until it is back']);
      // The database answers (it never left): the probe ends the outage after a quiet second.
      for (let waited = 0; availability.down && waited < 5000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(availability.down).toBe(false);
      expect(lines.slice(1)).toMatchObject([{ msg: 'database available again', failures: 50 }]);
      expect(availability.stats.outages).toBe(1);
    } finally {
      availability.close();
    }
  });

  it.runIf(dialect === 'sqlite')('SQLite out of space (SQLITE_FULL): 503 on writes, reads go on, writes work once there is room', async () => {
    const sqlite = h.ctx.storage.sqlite as SQLite.Database;
    const pages = sqlite.pragma('page_count', { simple: true }) as number;
    sqlite.pragma('incremental_vacuum');
    sqlite.pragma(`max_page_count = ${pages}`);
    let full: Awaited<ReturnType<Harness['request']>> | undefined;
    try {
      for (let i = 0; i < 500 && full === undefined; i++) {
        const res = await h.request(admin, NEW_KEY(`fill-${i}`));
        if (res.statusCode !== 201) full = res;
      }
      expect(full, 'the database never filled up').toBeDefined();
      expectUnavailable(full!);
      expect(h.ctx.databaseAvailability.down).toBe(true);
      expect((await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?limit=5' })).statusCode).toBe(200);
    } finally {
      sqlite.pragma('max_page_count = 4294967294');
    }
    expect((await h.request(admin, NEW_KEY('after-full'))).statusCode).toBe(201);
  });

  it.runIf(dialect === 'sqlite')('SQLite locked by another process beyond busy_timeout (SQLITE_BUSY): 503, then served once the lock goes', async () => {
    const sqlite = h.ctx.storage.sqlite as SQLite.Database;
    const other = new SQLite(join(h.config.dataDir, 'tessera.db'));
    sqlite.pragma('busy_timeout = 100');
    try {
      other.exec('begin immediate');
      expectUnavailable(await h.request(admin, NEW_KEY('while-locked')));
      other.exec('rollback');
      expect((await h.request(admin, NEW_KEY('after-lock'))).statusCode).toBe(201);
    } finally {
      if (other.inTransaction) other.exec('rollback');
      other.close();
      sqlite.pragma('busy_timeout = 5000');
    }
  });

  it.runIf(dialect === 'postgres')('a pooled connection lost while checked out does not crash the process, and the pool serves again', async () => {
    const admin2 = new pg.Client({ connectionString: TEST_PG_URL });
    await admin2.connect();
    try {
      await h.ctx.storage.db.connection().execute(async (conn) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
        await admin2.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
        // The checked-out client emits 'error' now; unhandled, it would end the process.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const failed = await sql`select 1`.execute(conn).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(isDatabaseUnavailable(failed)).toBe(true);
      });
    } finally {
      await admin2.end();
    }
    expect((await h.request(admin, NEW_KEY('after-lost-connection'))).statusCode).toBe(201);
  });
});
