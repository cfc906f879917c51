import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/context.ts';
import type { Database } from '../src/db/schema.ts';
import { createLogger } from '../src/http/logging.ts';
import { KeyUsage } from '../src/usage/key-usage.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

describe.each(DIALECTS)('per-key usage (%s)', (dialect) => {
  let h: Harness;
  let adminKey: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    adminKey = (await h.key([{ role: 'global-admin' }], { name: 'admin' })).token;
  });
  afterAll(() => h.close());

  const stored = (id: string) =>
    h.ctx.storage.db.selectFrom('access_keys').select(['use_count', 'last_used_at', 'last_used_ip']).where('id', '=', id).executeTakeFirstOrThrow();

  it('counts requests in memory (no write per request) and flushes useCount, lastUsedAt and lastUsedIp', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await h.ctx.usage.flush();
    for (let i = 0; i < 3; i++) {
      h.clock.advance(1000);
      const res = await h.request(key.token, { method: 'GET', url: '/api/v1/session', remoteAddress: `10.6.0.${i}` });
      expect(res.statusCode).toBe(401); // not a session; authenticated all the same
    }
    h.clock.advance(1000);
    expect((await h.request(key.token, { method: 'GET', url: '/api/v1/users', remoteAddress: '10.6.0.9' })).statusCode).toBe(403);
    const lastAt = h.clock().toISOString();
    expect(await stored(key.id)).toEqual({ use_count: 0, last_used_at: null, last_used_ip: null });
    await h.ctx.scheduler.runNow(h.ctx.usage.jobName);
    expect(await stored(key.id)).toEqual({ use_count: 4, last_used_at: lastAt, last_used_ip: '10.6.0.9' });
    const api = await h.request(adminKey, { method: 'GET', url: `/api/v1/access-keys/${key.id}` });
    expect(api.json()).toMatchObject({ useCount: 4, lastUsedAt: lastAt, lastUsedIp: '10.6.0.9' });
  });

  it('refused requests are not counted', async () => {
    const key = await h.key([{ role: 'global-viewer' }], { expiration: '7d' });
    h.clock.advance(8 * 24 * 3600 * 1000);
    expect((await h.request(key.token, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(401);
    await h.ctx.usage.flush();
    expect((await stored(key.id)).use_count).toBe(0);
  });

  it('flushes from many instances add up, and the later use wins whatever the order', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    const a = new KeyUsage(h.ctx.storage.db, h.ctx.storage.dialect, pino({ level: 'silent' }));
    const b = new KeyUsage(h.ctx.storage.db, h.ctx.storage.dialect, pino({ level: 'silent' }));
    const t = h.clock().getTime();
    for (let i = 0; i < 5; i++) a.record(key.id, '10.0.0.1', new Date(t + i));
    b.record(key.id, '10.0.0.2', new Date(t + 100));
    b.record(key.id, '10.0.0.3', new Date(t + 50)); // out of order: not the latest
    await b.flush();
    await a.flush();
    expect(await stored(key.id)).toEqual({ use_count: 7, last_used_at: new Date(t + 100).toISOString(), last_used_ip: '10.0.0.2' });
    await Promise.all([a.flush(), b.flush()]); // nothing pending: nothing changes
    expect((await stored(key.id)).use_count).toBe(7);
  });

  it('a flush of many keys lets requests through between its batches', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    const usage = new KeyUsage(h.ctx.storage.db, h.ctx.storage.dialect, pino({ level: 'silent' }));
    const at = h.clock();
    usage.record(key.id, '10.0.0.4', at);
    // Keys that no longer exist cost a batch slot and match no row.
    for (let i = 0; i < 1_000; i++) usage.record(`00000000-0000-7000-8000-${String(i).padStart(12, '0')}`, '10.0.0.4', at);
    const order: string[] = [];
    const flushed = usage.flush().then(() => void order.push('flush done'));
    setImmediate(() => order.push('other work'));
    await flushed;
    // On SQLite the writes run on this thread: without a pause between batches, nothing else runs until the flush ends.
    expect(order).toEqual(['other work', 'flush done']);
    expect((await stored(key.id)).use_count).toBe(1);
  });

  it("a removed key's pending counts are dropped without error", async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    expect((await h.request(key.token, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
    await h.request(adminKey, { method: 'DELETE', url: `/api/v1/access-keys/${key.id}` });
    await expect(h.ctx.usage.flush()).resolves.toBeUndefined();
  });

  it('closing the context flushes what it counted', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await h.ctx.usage.flush();
    const ctx2 = await createContext(h.config, createLogger(h.config), { clock: h.clock, storage: h.ctx.storage });
    ctx2.usage.record(key.id, '10.1.1.1', h.clock());
    ctx2.usage.record(key.id, '10.1.1.1', h.clock());
    await ctx2.close();
    expect(await stored(key.id)).toMatchObject({ use_count: 2, last_used_ip: '10.1.1.1' });
  });
});

describe('a failed usage flush keeps its counts', () => {
  it('retries them on the next flush', async () => {
    const sqlite = new SQLite(':memory:');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    try {
      const usage = new KeyUsage(db, 'sqlite', pino({ level: 'silent' }));
      usage.record('k1', '10.0.0.1', new Date('2026-11-27T12:00:00.000Z'));
      usage.record('k1', '10.0.0.2', new Date('2026-11-27T12:00:01.000Z'));
      // No access_keys table yet: the flush fails.
      await expect(usage.flush()).rejects.toThrow();
      expect(usage.pendingKeys).toBe(1);
      usage.record('k1', '10.0.0.3', new Date('2026-11-27T11:59:59.000Z'));
      sqlite.exec(`create table access_keys (id text primary key, last_used_at text, last_used_ip text, use_count integer not null default 0)`);
      sqlite.exec(`insert into access_keys (id) values ('k1')`);
      await usage.flush();
      expect(usage.pendingKeys).toBe(0);
      expect(sqlite.prepare('select use_count, last_used_at, last_used_ip from access_keys').get()).toEqual({
        use_count: 3,
        last_used_at: '2026-11-27T12:00:01.000Z',
        last_used_ip: '10.0.0.2',
      });
    } finally {
      await db.destroy();
    }
  });
});
