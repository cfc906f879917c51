import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.ts';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { loadConfig } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import type { RedisRateLimiter } from '../src/rate-limit/redis-rate-limiter.ts';
import { AddressAllowlist, normalizeAllowedCidrs } from '../src/access-keys/access-key-guards.ts';
import { REFUSED_ADDRESS_AUDIT_WINDOW_MS } from '../src/access-keys/refused-address-audit.ts';
import { createPgSchema, DIALECTS } from './helpers/databases.ts';
import { settleChanges } from './helpers/feed.ts';
import { createHarness, TEST_PUBLIC_URL, TEST_SECRET, type Harness } from './helpers/harness.ts';
import { auditRows } from './helpers/people.ts';

const REDIS_URL = process.env['TESSERA_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const READ = { method: 'GET', url: '/api/v1/access-keys?limit=1' } as const;

/** Waits for the audit write that follows a refusal (it runs after the answer, off the request path). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('allowlist entries and matching', () => {
  it('maps an IPv4-mapped IPv6 range to the IPv4 range it denotes, and keeps a wider one IPv6', () => {
    expect(normalizeAllowedCidrs(['::ffff:192.0.2.0/120', '::ffff:0:0/95', ' 198.51.100.0/24 '])).toEqual(['192.0.2.0/24', '::fffe:0:0/95', '198.51.100.0/24']);
  });

  it('matches by family; a mapped client address as IPv4; never an address it cannot read', () => {
    const allowlist = new AddressAllowlist(['192.0.2.0/24', '2001:db8::/32']);
    expect(['192.0.2.1', '::ffff:192.0.2.1', '2001:db8:ffff::1'].map((ip) => allowlist.allows(ip))).toEqual([true, true, true]);
    expect(['192.0.3.1', '::ffff:192.0.3.1', '2001:db9::1', '', 'not-an-ip', '::'].map((ip) => allowlist.allows(ip))).toEqual([false, false, false, false, false, false]);
    // 0.0.0.0/0 is every IPv4 address, and no IPv6 one.
    const anyIpv4 = new AddressAllowlist(normalizeAllowedCidrs(['0.0.0.0/0']));
    expect([anyIpv4.allows('203.0.113.1'), anyIpv4.allows('2001:db8::1')]).toEqual([true, false]);
  });
});

// Issue 18, parts 1 and 2: a key's network allowlist and its own rate limit, checked on every
// request. Each check is made at least twice, so the second answer comes from the warm caches.
describe.each(DIALECTS)('a key guarded by an allowlist and a rate limit (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  const lines: Array<Record<string, unknown>> = [];

  const api = (method: string, url: string, payload?: unknown) =>
    h.request(admin, { method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) });
  const createKey = async (body: Record<string, unknown>) => {
    const res = await api('POST', '/api/v1/access-keys', { name: `guarded-${randomBytes(4).toString('hex')}`, roles: [{ role: 'global-admin' }], ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; name: string; token: string; allowedCidrs: string[]; rateLimit: unknown };
  };
  const from = (token: string, remoteAddress: string, headers: Record<string, string> = {}) => h.request(token, { ...READ, remoteAddress, headers });

  beforeAll(async () => {
    const log = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
        callback();
      },
    });
    // The load balancer at 10.0.0.1 is trusted to say who its client was; nobody else is.
    h = await createHarness(dialect, { env: { TESSERA_TRUSTED_PROXIES: '10.0.0.1', TESSERA_METRICS_TOKEN: METRICS_TOKEN }, log });
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
  });
  afterAll(() => h?.close());

  describe('allowlist', () => {
    it('is stored in canonical form: host bits cleared, IPv6 compressed, a mapped IPv4 entry as IPv4, duplicates dropped', async () => {
      const key = await createKey({ allowedCidrs: ['10.1.2.3/8', '2001:DB8:0:0::5/32', '::ffff:192.0.2.7', '198.51.100.7/32', '10.0.0.0/8'] });
      expect(key.allowedCidrs).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', '198.51.100.7']);
      expect((await api('GET', `/api/v1/access-keys/${key.id}`)).json().allowedCidrs).toEqual(key.allowedCidrs);
      const plain = await createKey({});
      expect(plain).toMatchObject({ allowedCidrs: [], rateLimit: null });
    });

    it('refuses entries that are not addresses or ranges, naming each by its JSON Pointer', async () => {
      for (const [bad, index] of [
        ['10.0.0.0/33', 1],
        ['10.1', 1],
        ['2001:db8::/129', 1],
        ['fe80::1%eth0', 1],
        ['example.com', 1],
        ['10.0.0.0/8/8', 1],
      ] as const) {
        const res = await api('POST', '/api/v1/access-keys', { name: 'bad-cidr', roles: [{ role: 'global-viewer' }], allowedCidrs: ['10.0.0.0/8', bad] });
        expect(res.statusCode, bad).toBe(400);
        expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'body', pointer: `/allowedCidrs/${index}` }] });
      }
      const tooMany = await api('POST', '/api/v1/access-keys', {
        name: 'bad-cidr',
        roles: [{ role: 'global-viewer' }],
        allowedCidrs: Array.from({ length: 51 }, (_, i) => `10.0.${i}.0/24`),
      });
      expect(tooMany.statusCode).toBe(400);
      expect(tooMany.json().errors[0].pointer).toBe('/allowedCidrs');
      const key = await createKey({});
      const patch = await api('PATCH', `/api/v1/access-keys/${key.id}`, { allowedCidrs: ['192.0.2.1', 'nope'] });
      expect(patch.statusCode).toBe(400);
      expect(patch.json().errors[0].pointer).toBe('/allowedCidrs/1');
    });

    it('IPv4: inside answers, outside is 403 ip_not_allowed; an IPv4-mapped IPv6 client matches IPv4 ranges', async () => {
      const key = await createKey({ allowedCidrs: ['203.0.113.0/24'] });
      for (let i = 0; i < 2; i++) {
        expect((await from(key.token, '203.0.113.9')).statusCode).toBe(200);
        expect((await from(key.token, '::ffff:203.0.113.9')).statusCode).toBe(200);
        const refused = await from(key.token, '198.51.100.1');
        expect(refused.statusCode).toBe(403);
        expect(refused.headers['content-type']).toContain('application/problem+json');
        expect(refused.json()).toMatchObject({ code: 'ip_not_allowed', status: 403 });
        expect(refused.headers['www-authenticate']).toBeUndefined();
        expect((await from(key.token, '2001:db8::1')).statusCode).toBe(403);
      }
    });

    it('IPv6: a /48 lets its addresses in and no others, IPv4 included', async () => {
      const key = await createKey({ allowedCidrs: ['2001:db8:1::/48', '192.0.2.10'] });
      for (let i = 0; i < 2; i++) {
        expect((await from(key.token, '2001:db8:1:ffff::7')).statusCode).toBe(200);
        expect((await from(key.token, '192.0.2.10')).statusCode).toBe(200);
        expect((await from(key.token, '2001:db8:2::1')).json().code).toBe('ip_not_allowed');
        expect((await from(key.token, '192.0.2.11')).json().code).toBe('ip_not_allowed');
      }
    });

    it('believes X-Forwarded-For only from a trusted proxy', async () => {
      const key = await createKey({ allowedCidrs: ['203.0.113.0/24'] });
      for (let i = 0; i < 2; i++) {
        expect((await from(key.token, '10.0.0.1', { 'x-forwarded-for': '203.0.113.50' })).statusCode).toBe(200);
        expect((await from(key.token, '10.0.0.1', { 'x-forwarded-for': '198.51.100.2' })).json().code).toBe('ip_not_allowed');
        // An untrusted peer cannot claim an allowed address.
        expect((await from(key.token, '198.51.100.2', { 'x-forwarded-for': '203.0.113.50' })).json().code).toBe('ip_not_allowed');
        // Nor can the client behind the proxy, by sending the header itself: the proxy appends the real address.
        expect((await from(key.token, '10.0.0.1', { 'x-forwarded-for': '203.0.113.50, 198.51.100.2' })).json().code).toBe('ip_not_allowed');
      }
    });

    it('is changed by PATCH from the next request, on a warm key; [] allows any address again', async () => {
      const key = await createKey({});
      expect((await from(key.token, '198.51.100.1')).statusCode).toBe(200);
      expect((await from(key.token, '198.51.100.1')).statusCode).toBe(200);
      const narrowed = await api('PATCH', `/api/v1/access-keys/${key.id}`, { allowedCidrs: ['203.0.113.0/24'] });
      expect(narrowed.statusCode, narrowed.body).toBe(200);
      expect(narrowed.json().allowedCidrs).toEqual(['203.0.113.0/24']);
      await settleChanges(h);
      expect((await from(key.token, '198.51.100.1')).json().code).toBe('ip_not_allowed');
      expect((await from(key.token, '203.0.113.1')).statusCode).toBe(200);
      expect((await api('PATCH', `/api/v1/access-keys/${key.id}`, { allowedCidrs: [] })).json().allowedCidrs).toEqual([]);
      await settleChanges(h);
      expect((await from(key.token, '198.51.100.1')).statusCode).toBe(200);
      const edits = await auditRows(h, { category: 'access-keys', action: 'edit' });
      const changes = edits.filter((e) => e.resource_id === key.id).map((e) => [e.detail['before'], e.detail['after']]);
      expect(changes).toHaveLength(2);
      expect(changes).toContainEqual([
        { allowedCidrs: [], rateLimit: null },
        { allowedCidrs: ['203.0.113.0/24'], rateLimit: null },
      ]);
      expect(changes).toContainEqual([
        { allowedCidrs: ['203.0.113.0/24'], rateLimit: null },
        { allowedCidrs: [], rateLimit: null },
      ]);
    });

    it('a refusal is not a failed authentication: no authFailure in the log, the key still counted as valid', async () => {
      const key = await createKey({ allowedCidrs: ['203.0.113.0/24'] });
      lines.length = 0;
      expect((await from(key.token, '198.51.100.1')).statusCode).toBe(403);
      expect((await from(key.token, '198.51.100.1')).statusCode).toBe(403);
      const requestLines = lines.filter((line) => line['msg'] === 'request' && line['status'] === 403);
      expect(requestLines).toHaveLength(2);
      for (const line of requestLines) {
        expect(line['authRefusal']).toBe('ip-not-allowed');
        expect(line).not.toHaveProperty('authFailure');
      }
      // A forged token from the same address is a failed authentication: the log says so.
      await from(`${key.token.slice(0, -2)}xx`, '198.51.100.1');
      expect(lines.filter((line) => line['msg'] === 'request' && line['status'] === 401).at(-1)?.['authFailure']).toBeDefined();
      const metrics = (await h.request(METRICS_TOKEN, { method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/tessera_auth_total\{outcome="refused",reason="ip-not-allowed"\} [1-9]/);
      expect(metrics).not.toMatch(/outcome="failure",reason="ip-not-allowed"/);
    });

    it('audits a refused address at most once a minute per key and address', async () => {
      const key = await createKey({ allowedCidrs: ['203.0.113.0/24'] });
      // Ordered by address: the rows share the frozen clock's time.
      const refusals = async () =>
        (await auditRows(h, { action: 'ip-not-allowed' })).filter((e) => e.resource_id === key.id).sort((a, b) => String(a.actor_ip).localeCompare(String(b.actor_ip)));
      for (let i = 0; i < 3; i++) expect((await from(key.token, '198.51.100.1')).statusCode).toBe(403);
      expect(await eventually(refusals, (rows) => rows.length >= 1)).toHaveLength(1);
      expect((await from(key.token, '198.51.100.2')).statusCode).toBe(403);
      const two = await eventually(refusals, (rows) => rows.length >= 2);
      expect(two.map((e) => e.detail)).toEqual([
        { name: key.name, ip: '198.51.100.1' },
        { name: key.name, ip: '198.51.100.2' },
      ]);
      expect(two.map((e) => [e.actor, e.actor_ip])).toEqual([
        [`key:${key.name}`, '198.51.100.1'],
        [`key:${key.name}`, '198.51.100.2'],
      ]);
      await from(key.token, '198.51.100.1');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await refusals()).toHaveLength(2);
      h.clock.advance(REFUSED_ADDRESS_AUDIT_WINDOW_MS + 1000);
      await from(key.token, '198.51.100.1');
      const three = await eventually(refusals, (rows) => rows.length >= 3);
      expect(three.map((e) => e.actor_ip)).toEqual(['198.51.100.1', '198.51.100.1', '198.51.100.2']);
    });
  });

  describe('rate limit (without Redis: per instance)', () => {
    it('answers within the limit with RateLimit headers, then 429 rate_limited with Retry-After, until the window ends', async () => {
      const key = await createKey({ rateLimit: { requests: 3, perSeconds: 10 } });
      expect(key.rateLimit).toEqual({ requests: 3, perSeconds: 10 });
      for (const remaining of [2, 1, 0]) {
        const res = await from(key.token, '198.51.100.1');
        expect(res.statusCode).toBe(200);
        expect(res.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': String(remaining), 'ratelimit-reset': '10' });
        expect(res.headers['retry-after']).toBeUndefined();
      }
      h.clock.advance(4000);
      for (let i = 0; i < 2; i++) {
        const limited = await from(key.token, '198.51.100.1');
        expect(limited.statusCode).toBe(429);
        expect(limited.json()).toMatchObject({ code: 'rate_limited', status: 429 });
        expect(limited.headers).toMatchObject({ 'retry-after': '6', 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '6' });
      }
      // Another key is not affected.
      const other = await createKey({ rateLimit: { requests: 1, perSeconds: 10 } });
      expect((await from(other.token, '198.51.100.1')).statusCode).toBe(200);
      h.clock.advance(6000);
      const again = await from(key.token, '198.51.100.1');
      expect(again.statusCode).toBe(200);
      expect(again.headers).toMatchObject({ 'ratelimit-remaining': '2', 'ratelimit-reset': '10' });
    });

    it('a key without a limit gets no RateLimit headers; PATCH sets and removes the limit', async () => {
      const key = await createKey({});
      expect((await from(key.token, '198.51.100.1')).headers['ratelimit-limit']).toBeUndefined();
      expect((await api('PATCH', `/api/v1/access-keys/${key.id}`, { rateLimit: { requests: 1, perSeconds: 60 } })).json().rateLimit).toEqual({
        requests: 1,
        perSeconds: 60,
      });
      await settleChanges(h);
      expect((await from(key.token, '198.51.100.1')).statusCode).toBe(200);
      expect((await from(key.token, '198.51.100.1')).statusCode).toBe(429);
      expect((await api('PATCH', `/api/v1/access-keys/${key.id}`, { rateLimit: null })).json().rateLimit).toBeNull();
      await settleChanges(h);
      const free = await from(key.token, '198.51.100.1');
      expect(free.statusCode).toBe(200);
      expect(free.headers['ratelimit-limit']).toBeUndefined();
    });

    it('the allowlist is checked first: a refused address does not use up the limit', async () => {
      const key = await createKey({ allowedCidrs: ['203.0.113.0/24'], rateLimit: { requests: 1, perSeconds: 60 } });
      for (let i = 0; i < 3; i++) expect((await from(key.token, '198.51.100.1')).statusCode).toBe(403);
      expect((await from(key.token, '203.0.113.1')).statusCode).toBe(200);
      expect((await from(key.token, '203.0.113.1')).statusCode).toBe(429);
    });

    it('a warm key with an allowlist and a limit is still answered synchronously, without SQL', async () => {
      const key = await createKey({ allowedCidrs: ['203.0.113.0/24'], rateLimit: { requests: 100, perSeconds: 60 } });
      expect((await from(key.token, '203.0.113.1')).statusCode).toBe(200);
      await settleChanges(h);
      expect((await from(key.token, '203.0.113.1')).statusCode).toBe(200);
      const misses = h.ctx.accessKeyAuth.cacheStats.stateMisses;
      const request = (ip: string) => ({ ip, headers: {} }) as unknown as Parameters<typeof h.ctx.accessKeyAuth.verify>[1];
      const inside = h.ctx.accessKeyAuth.verify(key.token, request('203.0.113.1'));
      const outside = h.ctx.accessKeyAuth.verify(key.token, request('198.51.100.1'));
      expect(inside).not.toBeInstanceOf(Promise);
      expect(outside).not.toBeInstanceOf(Promise);
      expect(inside).toMatchObject({ ok: true, headers: { 'ratelimit-limit': '100' } });
      expect(outside).toMatchObject({ ok: false, refusal: { code: 'ip_not_allowed' } });
      expect(h.ctx.accessKeyAuth.cacheStats.stateMisses).toBe(misses);
    });

    it('counts a request admitted again before its handler once, and a changed limit is in the next answer', async () => {
      const key = await createKey({ rateLimit: { requests: 5, perSeconds: 60 } });
      expect((await from(key.token, '198.51.100.1')).headers).toMatchObject({ 'ratelimit-limit': '5', 'ratelimit-remaining': '4' });
      // The same request verified twice (access-control's preHandler after a change): one count.
      const request = { ip: '198.51.100.1', headers: {} } as unknown as Parameters<typeof h.ctx.accessKeyAuth.verify>[1];
      expect(await h.ctx.accessKeyAuth.verify(key.token, request)).toMatchObject({ ok: true, headers: { 'ratelimit-remaining': '3' } });
      expect(await h.ctx.accessKeyAuth.verify(key.token, request)).toMatchObject({ ok: true });
      expect((await from(key.token, '198.51.100.1')).headers).toMatchObject({ 'ratelimit-remaining': '2' });
      // Another number of requests in the same window length: the same window, the new limit.
      await api('PATCH', `/api/v1/access-keys/${key.id}`, { rateLimit: { requests: 7, perSeconds: 60 } });
      await settleChanges(h);
      expect((await from(key.token, '198.51.100.1')).headers).toMatchObject({ 'ratelimit-limit': '7', 'ratelimit-remaining': '3' });
    });

    it('refuses limits out of bounds, naming the field', async () => {
      for (const [rateLimit, pointer] of [
        [{ requests: 0, perSeconds: 10 }, '/rateLimit/requests'],
        [{ requests: 10, perSeconds: 0 }, '/rateLimit/perSeconds'],
        [{ requests: 10, perSeconds: 86_401 }, '/rateLimit/perSeconds'],
        [{ requests: 1_000_001, perSeconds: 10 }, '/rateLimit/requests'],
        [{ requests: 1.5, perSeconds: 10 }, '/rateLimit/requests'],
        [{ requests: 10 }, '/rateLimit/perSeconds'],
        [{ requests: 10, perSeconds: 10, burst: 2 }, '/rateLimit/burst'],
      ] as const) {
        const res = await api('POST', '/api/v1/access-keys', { name: 'bad-limit', roles: [{ role: 'global-viewer' }], rateLimit });
        expect(res.statusCode, JSON.stringify(rateLimit)).toBe(400);
        expect(res.json().code).toBe('validation_failed');
        expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
      }
    });
  });
});

describe.each(DIALECTS)('a key rate limit with Redis is shared by two instances (%s)', (dialect) => {
  const apps: FastifyInstance[] = [];
  const contexts: Context[] = [];
  let dataDir: string;
  let dropSchema: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-guard-'));
    const schema = dialect === 'postgres' ? await createPgSchema() : undefined;
    dropSchema = schema?.drop;
    const config = loadConfig({
      TESSERA_DATA_DIR: dataDir,
      TESSERA_SECRET: TEST_SECRET,
      TESSERA_PUBLIC_URL: TEST_PUBLIC_URL,
      REDIS_URL,
      ...(schema === undefined ? {} : { DATABASE_URL: schema.url }),
    });
    // One after the other: the first migrates the database.
    for (let i = 0; i < 2; i++) {
      const ctx = await createContext(config, pino({ level: 'silent' }));
      contexts.push(ctx);
      const app = await buildApp(ctx, { logRequests: false });
      await app.ready();
      apps.push(app);
    }
    // Until its first connection is ready a limiter counts in process (by design): wait for Redis.
    for (const ctx of contexts) {
      const limiter = ctx.rateLimiter as RedisRateLimiter;
      await eventually(
        async () => limiter.backend,
        (backend) => backend === 'redis',
      );
      expect(limiter.backend).toBe('redis');
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const ctx of contexts) await ctx.close();
    await dropSchema?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('asks Redis only for keys that have a limit', async () => {
    const limiter = contexts[0]!.rateLimiter;
    const increment = vi.spyOn(limiter, 'increment');
    try {
      const plain = await contexts[0]!.accessKeys.create(CLI_ACTOR, { name: `plain-${randomBytes(4).toString('hex')}`, roles: [{ role: 'global-admin' }] });
      const allowlisted = await contexts[0]!.accessKeys.create(CLI_ACTOR, {
        name: `allowlisted-${randomBytes(4).toString('hex')}`,
        roles: [{ role: 'global-admin' }],
        allowedCidrs: ['127.0.0.0/8'],
      });
      for (const { token } of [plain, allowlisted]) {
        for (let i = 0; i < 3; i++) expect((await apps[0]!.inject({ ...READ, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
      }
      expect(increment).not.toHaveBeenCalled();
      const limited = await contexts[0]!.accessKeys.create(CLI_ACTOR, {
        name: `limited-${randomBytes(4).toString('hex')}`,
        roles: [{ role: 'global-admin' }],
        rateLimit: { requests: 10, perSeconds: 60 },
      });
      expect((await apps[0]!.inject({ ...READ, headers: { authorization: `Bearer ${limited.token}` } })).statusCode).toBe(200);
      expect(increment).toHaveBeenCalledTimes(1);
    } finally {
      increment.mockRestore();
    }
  });

  it('counts requests to either instance in one window', async () => {
    const { token } = await contexts[0]!.accessKeys.create(CLI_ACTOR, {
      name: `shared-${randomBytes(4).toString('hex')}`,
      roles: [{ role: 'global-admin' }],
      rateLimit: { requests: 4, perSeconds: 60 },
    });
    const use = (i: number) => apps[i % 2]!.inject({ ...READ, headers: { authorization: `Bearer ${token}` } });
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await use(i));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 429, 429]);
    expect(answers.slice(0, 4).map((a) => a.headers['ratelimit-remaining'])).toEqual(['3', '2', '1', '0']);
    const limited = answers[5]!;
    expect(limited.json().code).toBe('rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(55);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers['ratelimit-reset']).toBe(limited.headers['retry-after']);
  });
});
