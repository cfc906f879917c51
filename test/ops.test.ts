import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.ts';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { createContext } from '../src/context.ts';
import { listenerApplicationName } from '../src/changes/change-feed.ts';
import { loggerOptions } from '../src/http/logging.ts';
import { DIALECTS, TEST_PG_URL } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

/** Cuts this process's change-listener connections, as a network failure or a DBA would. */
async function killListeners(): Promise<number> {
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ pid: number }>('select pg_terminate_backend(pid) as pid from pg_stat_activity where application_name = $1', [
      listenerApplicationName(),
    ]);
    return rows.length;
  } finally {
    await admin.end();
  }
}

/** The value of one sample line of the exposition text (labels in the order prom-client prints them). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(DIALECTS)('operations endpoints (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness(dialect, { env: { TESSERA_METRICS_TOKEN: METRICS_TOKEN } });
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
  });
  afterAll(() => h.close());

  const scrape = async () => {
    const res = await h.request(METRICS_TOKEN, { method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return res.body;
  };

  it('/readyz answers 200 with its checks, without credentials', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ready',
      checks: { database: 'ok', changeListener: dialect === 'postgres' ? 'ok' : 'not-applicable', rateLimiter: 'memory' },
    });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('/metrics refuses a missing or wrong token with 401 and a Bearer challenge', async () => {
    const none = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('invalid_token');
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const wrong = await h.request(`${METRICS_TOKEN}x`, { method: 'GET', url: '/metrics' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(wrong.json().code).toBe('invalid_token');
    // An API key, even a Global Admin's, is not the metrics credential.
    const apiKey = await h.request(admin, { method: 'GET', url: '/metrics' });
    expect(apiKey.statusCode).toBe(401);
  });

  it('/metrics counts requests by route pattern and status, and auth outcomes by reason', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await h.request(admin, { method: 'GET', url: '/api/v1/access-keys' });
    await h.request(admin, { method: 'GET', url: `/api/v1/access-keys/${key.id}` });
    await h.request(undefined, { method: 'GET', url: '/api/v1/access-keys' });
    await h.request('not-a-jwt', { method: 'GET', url: '/api/v1/access-keys' });
    await h.request(key.token, { method: 'GET', url: '/api/v1/access-keys' }); // a viewer: 403
    await h.request(admin, { method: 'GET', url: '/api/v1/no/such/path/12345' });
    const res = await h.request(METRICS_TOKEN, { method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    expect(sample(text, 'tessera_http_requests_total{method="GET",route="/api/v1/access-keys",status="200"}')).toBeGreaterThanOrEqual(1);
    // The path parameter is a pattern, not one series per id.
    expect(sample(text, 'tessera_http_requests_total{method="GET",route="/api/v1/access-keys/:id",status="200"}')).toBe(1);
    expect(text).not.toContain(key.id);
    expect(sample(text, 'tessera_http_requests_total{method="GET",route="/api/v1/access-keys",status="401"}')).toBe(2);
    expect(sample(text, 'tessera_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(text).not.toContain('12345');
    expect(sample(text, 'tessera_auth_total{outcome="success",reason="api-key"}')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'tessera_auth_total{outcome="failure",reason="no-credentials"}')).toBe(1);
    expect(sample(text, 'tessera_auth_total{outcome="failure",reason="unknown-token-type"}')).toBe(1);
    expect(sample(text, 'tessera_auth_total{outcome="forbidden",reason="not-permitted"}')).toBe(1);
    // The duration histogram, counted in plain objects and written as prom-client writes one:
    // cumulative buckets by `le`, the last (+Inf) equal to the count.
    const one = 'method="GET",route="/api/v1/access-keys/:id"';
    expect(text).toContain('# TYPE tessera_http_request_duration_seconds histogram');
    expect(sample(text, `tessera_http_request_duration_seconds_count{${one}}`)).toBe(1);
    expect(sample(text, `tessera_http_request_duration_seconds_bucket{le="+Inf",${one}}`)).toBe(1);
    expect(sample(text, `tessera_http_request_duration_seconds_sum{${one}}`)).toBeGreaterThan(0);
    const buckets = text
      .split('\n')
      .filter((l) => l.startsWith('tessera_http_request_duration_seconds_bucket{') && l.includes(one))
      .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    expect(buckets).toHaveLength(13);
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
    // Nothing secret in the exposition.
    expect(text).not.toContain(admin);
    expect(text).not.toContain(METRICS_TOKEN);
  });

  it('/metrics reports the access-key cache hit ratio', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    const before = await scrape();
    const hitsBefore = sample(before, 'tessera_access_key_cache_lookups_total{cache="token",result="hit"}') ?? 0;
    const missesBefore = sample(before, 'tessera_access_key_cache_lookups_total{cache="token",result="miss"}') ?? 0;
    for (let i = 0; i < 5; i++) await h.request(key.token, { method: 'GET', url: '/api/v1/access-keys' });
    const after = await scrape();
    // The first use verifies the signature (a miss), the next four come from the cache.
    expect(sample(after, 'tessera_access_key_cache_lookups_total{cache="token",result="miss"}')).toBe(missesBefore + 1);
    expect(sample(after, 'tessera_access_key_cache_lookups_total{cache="token",result="hit"}')).toBe(hitsBefore + 4);
    const ratio = sample(after, 'tessera_access_key_cache_hit_ratio{cache="token"}');
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1);
    expect(sample(after, 'tessera_change_listener_connected')).toBe(1);
  });

  it.runIf(dialect === 'postgres')('/metrics reports pool usage and the propagation lag of changes made by another process', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    expect((await h.request(key.token, { method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const before = await scrape();
    expect(sample(before, 'tessera_db_pool_connections{state="max"}')).toBe(10);
    expect(sample(before, 'tessera_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
    const countBefore = sample(before, 'tessera_change_propagation_seconds_count') ?? 0;
    const sumBefore = sample(before, 'tessera_change_propagation_seconds_sum') ?? 0;
    // Another process (as the CLI would) removes the key on the same database.
    const other = await createContext(h.config, pino({ level: 'silent' }), { listen: false });
    try {
      await other.accessKeys.remove(CLI_ACTOR, key.id);
    } finally {
      await other.close();
    }
    await vi.waitFor(async () => expect(sample(await scrape(), 'tessera_change_propagation_seconds_count')).toBeGreaterThan(countBefore));
    const after = await scrape();
    expect(sample(after, 'tessera_changes_applied_total')).toBeGreaterThanOrEqual(1);
    // The observation is a lag, in seconds: positive, and counted in the histogram's buckets.
    // How small it is under load is the benchmark's business (bench/PROPAGATION.md), not a test's.
    expect(sample(after, 'tessera_change_propagation_seconds_sum')).toBeGreaterThan(sumBefore);
    expect(sample(after, 'tessera_change_propagation_seconds_bucket{le="+Inf"}')).toBeGreaterThan(countBefore);
    const refused = await h.request(key.token, { method: 'GET', url: '/api/v1/access-keys' });
    expect(refused.statusCode).toBe(401);
  });

  it.runIf(dialect === 'postgres')('/readyz answers 503 while the change listener is cut, and 200 again once it reconnected by itself', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await h.request(key.token, { method: 'GET', url: '/healthz' });
    // The outage of one cut lasts about the first reconnect delay (50 ms): cut until a check lands in it.
    await vi.waitFor(
      async () => {
        await killListeners();
        await vi.waitFor(() => expect(h.ctx.changes.live).toBe(false), { timeout: 500, interval: 1 });
        const res = await h.app.inject({ method: 'GET', url: '/readyz' });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ status: 'not-ready', checks: { database: 'ok', changeListener: 'failed' } });
      },
      { timeout: 5000, interval: 1 },
    );
    await vi.waitFor(async () => expect((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200), { timeout: 10_000, interval: 20 });
    const text = await scrape();
    expect(sample(text, 'tessera_change_listener_disconnects_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'tessera_change_listener_connected')).toBe(1);
  });
});

describe('metrics off unless configured', () => {
  it('/metrics does not exist without TESSERA_METRICS_TOKEN', async () => {
    const h = await createHarness('sqlite');
    try {
      const res = await h.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('not_found');
    } finally {
      await h.close();
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))('readiness when the database is gone', () => {
  it('/readyz answers 503 with database "failed" (liveness stays 200)', async () => {
    const h = await createHarness('postgres');
    try {
      await h.ctx.changes.feed.stop();
      await h.ctx.storage.db.destroy();
      const res = await h.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ status: 'not-ready', checks: { database: 'failed', changeListener: 'failed' } });
      expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      // Closing twice is harmless (Kysely's destroy is idempotent); this also drops the schema.
      await h.close();
    }
  });
});

describe('structured request logs', () => {
  it('writes one JSON line per request with the request id it echoes, never the token', async () => {
    const h = await createHarness('sqlite');
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ ...loggerOptions({ logLevel: 'info' }) }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const ctx = await createContext(h.config, log, { storage: h.ctx.storage, listen: false });
    const app = await buildApp(ctx);
    try {
      const key = await h.key([{ role: 'global-admin' }]);
      const res = await app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: `Bearer ${key.token}`, 'x-request-id': 'trace-abc.123' } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-request-id']).toBe('trace-abc.123');
      const line = lines.find((l) => l['msg'] === 'request' && l['reqId'] === 'trace-abc.123');
      expect(line).toMatchObject({ method: 'GET', url: '/api/v1/access-keys', status: 200, actor: `key:${key.name}` });
      expect(typeof line?.['ms']).toBe('number');
      // A request id that is not a plain token is replaced, so log lines cannot be forged.
      const odd = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\nc' } });
      expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const refused = await app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: 'Bearer nope' } });
      const refusal = lines.find((l) => l['msg'] === 'request' && l['reqId'] === refused.headers['x-request-id']);
      expect(refusal).toMatchObject({ status: 401, authFailure: 'unknown-token-type' });
      expect(JSON.stringify(lines)).not.toContain(key.token);
    } finally {
      await app.close();
      await ctx.close();
      await h.close();
    }
  });
});
