import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { createContext, type Context } from '../src/context.ts';
import { listenerApplicationName, SqliteChangeFeed } from '../src/changes/change-feed.ts';
import type { Storage } from '../src/db/database.ts';
import { CHANGE_CHANNEL, type Change } from '../src/changes/change.ts';
import { DIALECTS, TEST_PG_URL } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const silent = pino({ level: 'silent' });

/**
 * Changes made by another process (the CLI, another instance) reach this process's caches:
 * by `PRAGMA data_version` on SQLite, by LISTEN/NOTIFY on PostgreSQL, and (while the
 * listener is down) by reading key state from SQL instead of the cache.
 */
describe.each(DIALECTS)('change feed (%s)', (dialect) => {
  let h: Harness;
  /** A second process's view of the same database, as the CLI opens it (no listener). */
  let other: Context;
  beforeAll(async () => {
    h = await createHarness(dialect);
    other = await createContext(h.config, silent, { listen: false });
  });
  afterAll(async () => {
    await other.close();
    await h.close();
  });

  const use = (token: string) => h.request(token, { method: 'GET', url: '/api/v1/access-keys' });

  it('a key removed by another process is refused here on the next request', async () => {
    const key = await h.key([{ role: 'global-admin' }]);
    expect((await use(key.token)).statusCode).toBe(200);
    expect((await use(key.token)).statusCode).toBe(200); // now answered from the caches
    await other.accessKeys.remove(CLI_ACTOR, key.id);
    await vi.waitFor(async () => expect((await use(key.token)).statusCode).toBe(401), { timeout: 1000, interval: 2 });
  });

  it('roles edited by another process apply here', async () => {
    const key = await h.key([{ role: 'global-admin' }]);
    expect((await use(key.token)).statusCode).toBe(200);
    await other.accessKeys.editRoles(CLI_ACTOR, key.id, [{ role: 'global-viewer' }]);
    await vi.waitFor(
      async () => {
        const res = await use(key.token);
        expect(res.statusCode).toBe(403);
        expect(res.json().code).toBe('insufficient_scope');
      },
      { timeout: 1000, interval: 2 },
    );
  });

  it.runIf(dialect === 'postgres')('while the listener is down, key state comes from SQL: a removal is never missed', async () => {
    const key = await h.key([{ role: 'global-admin' }]);
    expect((await use(key.token)).statusCode).toBe(200);
    await h.ctx.changes.feed.stop(); // deaf from now on: no notification will arrive
    expect(h.ctx.changes.live).toBe(false);
    await other.accessKeys.remove(CLI_ACTOR, key.id);
    // Refused at once, without any notification: the cache is not trusted while not live.
    expect((await use(key.token)).statusCode).toBe(401);
    await h.ctx.changes.feed.start();
    expect(h.ctx.changes.live).toBe(true);
    expect((await use(key.token)).statusCode).toBe(401);
  });

  it.runIf(dialect === 'postgres')('reconnects by itself after its connection is killed, and drops every cache when it does', async () => {
    const seen: Change[] = [];
    const off = h.ctx.changes.subscribe('all', (change) => void seen.push(change));
    const disconnects = h.ctx.changes.stats.disconnects;
    try {
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      try {
        const { rows } = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [listenerApplicationName()]);
        expect(rows).toHaveLength(1);
      } finally {
        await admin.end();
      }
      // (The outage lasts ~50 ms, the first reconnect delay: count it rather than try to catch it.)
      await vi.waitFor(() => expect(h.ctx.changes.stats.disconnects).toBe(disconnects + 1), { timeout: 2000, interval: 1 });
      await vi.waitFor(() => expect(h.ctx.changes.live).toBe(true), { timeout: 10_000, interval: 10 });
      // Once on loss and once on reconnect: everything changed while nobody listened.
      expect(seen.filter((c) => c.kind === 'any').length).toBeGreaterThanOrEqual(2);
      expect(h.ctx.changes.stats.disconnects).toBeGreaterThanOrEqual(1);
    } finally {
      off();
    }
  });

  it.runIf(dialect === 'postgres')(
    "writes a unit's audit entries with its NOTIFYs: heard elsewhere once committed, with the entries there; nothing of a unit that fails",
    async () => {
      const seen: Change[] = [];
      const off = h.ctx.changes.subscribe('all', (change) => void seen.push(change));
      const id = `together-${Date.now()}`;
      const audited = async (resource: string) =>
        Number(
          (
            await h.ctx.storage.db
              .selectFrom('audit_events')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('resource', '=', resource)
              .executeTakeFirstOrThrow()
          ).n,
        );
      const unit = (suffix: string, entries: number, fail = false) =>
        other.transactions.run(CLI_ACTOR, async (work) => {
          for (let n = 0; n < entries; n++) work.audit({ category: 'users', resource: `${id}-${suffix}`, resourceId: null, action: 'edit', detail: { n } });
          work.announce({ kind: 'user', id: `${id}-${suffix}-1` });
          work.announce({ kind: 'user', id: `${id}-${suffix}-2` });
          if (fail) throw new Error('boom');
        });
      try {
        await unit('kept', 2);
        await expect(unit('failed', 1, true)).rejects.toThrow('boom');
        await unit('unaudited', 0);
        // Notifications arrive in commit order: once the last unit's are heard, the others' are in.
        await vi.waitFor(() => expect(seen).toContainEqual({ kind: 'user', id: `${id}-unaudited-2` }));
        expect(seen).toContainEqual({ kind: 'user', id: `${id}-kept-1` });
        expect(seen).toContainEqual({ kind: 'user', id: `${id}-kept-2` });
        expect(seen.filter((change) => change.id.startsWith(`${id}-failed`))).toEqual([]);
        expect(await audited(`${id}-kept`)).toBe(2);
        expect(await audited(`${id}-failed`)).toBe(0);
      } finally {
        off();
      }
    },
  );

  it.runIf(dialect === 'postgres')('takes a known change as it is, and an unknown kind or an unreadable payload as "everything changed"', async () => {
    const seen: Change[] = [];
    const off = h.ctx.changes.subscribe('all', (change) => void seen.push(change));
    const client = new pg.Client({ connectionString: h.config.databaseUrl });
    await client.connect();
    const id = `k-${Date.now()}`;
    try {
      // (The channel is per database: other test files' changes may arrive too, so count, don't list.)
      await client.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, JSON.stringify({ kind: 'access-key', id, at: Date.now() })]);
      await vi.waitFor(() => expect(seen).toContainEqual({ kind: 'access-key', id }));
      const before = seen.filter((c) => c.kind === 'any').length;
      await client.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, JSON.stringify({ kind: 'drop-tables', id })]);
      await client.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, 'not json']);
      await vi.waitFor(() => expect(seen.filter((c) => c.kind === 'any').length).toBeGreaterThanOrEqual(before + 2));
      expect(seen.some((c) => (c.kind as string) === 'drop-tables')).toBe(false);
    } finally {
      off();
      await client.end();
    }
  });
});

/**
 * SQLite's feed reads the wal-index header before asking `PRAGMA data_version`: every commit of
 * another connection must still be seen on the very next check, WAL resets included.
 */
describe('SQLite change feed: the wal-index header check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-feed-'));
  const file = join(dir, 'feed.db');
  const open = () => {
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    return sqlite;
  };
  const here = open();
  const writer = open();
  writer.exec('create table if not exists t (n integer)');
  afterAll(() => {
    here.close();
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees each commit of another connection on the next check, and nothing without one', async () => {
    const published: Change[] = [];
    const feed = new SqliteChangeFeed({ sqlite: here } as Storage, (change) => published.push(change));
    await feed.start();
    feed.sync();
    expect(published).toHaveLength(0);
    const insert = writer.prepare('insert into t values (?)');
    for (let n = 1; n <= 50; n++) {
      insert.run(n);
      // A checkpoint that resets the WAL: the next commit writes its frames from the start again.
      if (n % 10 === 0) writer.pragma('wal_checkpoint(TRUNCATE)');
      feed.sync();
      expect(published).toHaveLength(n);
      feed.sync();
      expect(published).toHaveLength(n);
    }
    expect(feed.stats.applied).toBe(50);
    await feed.stop();
  });

  it("this connection's own commits are not another process's changes", async () => {
    const published: Change[] = [];
    const feed = new SqliteChangeFeed({ sqlite: here } as Storage, (change) => published.push(change));
    await feed.start();
    here.prepare('insert into t values (0)').run();
    feed.sync();
    expect(published).toHaveLength(0);
    await feed.stop();
  });

  it('an in-memory database, without a -shm file, is asked the pragma on every check', async () => {
    const memory = new SQLite(':memory:');
    const feed = new SqliteChangeFeed({ sqlite: memory } as Storage, () => {});
    await feed.start();
    expect(() => feed.sync()).not.toThrow();
    await feed.stop();
    memory.close();
  });
});
