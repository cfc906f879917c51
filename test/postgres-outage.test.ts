import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, CLUSTER_METRICS_TOKEN, CLUSTER_SECRET, sparePort, startInstance, type Answer, type Instance } from './helpers/instances.ts';
import { createPrivatePostgres, postgresServerBin, type PrivatePostgres } from './helpers/private-postgres.ts';

const BIN = postgresServerBin();
const TITLE = 'a PostgreSQL outage under load (a private cluster stopped hard and started again)';

/** Longer than the usage flush interval (10 s): a flush fails during the outage and its counts must survive. */
const OUTAGE_MS = 11_000;
const ADMIN_EMAIL = 'admin@outage.test';
const ADMIN_PASSWORD = 'outage-admin-password';

/** The shape every answer that needs the unreachable database must have. */
function expectDatabaseUnavailable(res: Answer): void {
  expect(res.status, res.body).toBe(503);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  const body = res.json<{ code: string; detail: string }>();
  expect(body.code).toBe('database_unavailable');
  // Nothing of the driver's error reaches the client.
  expect(res.body).not.toMatch(/\bat |stack|ECONNREFUSED|Connection terminated|node_modules/);
}

/**
 * The server must survive its database: this starts its own PostgreSQL (initdb + pg_ctl from
 * the server packages that .ci/run installs), runs a real `tessera serve` on it, and stops
 * the database with `pg_ctl -m immediate` (a crash: every backend killed at once) under load.
 */
describe.skipIf(BIN === undefined)(BIN === undefined ? `${TITLE}: skipped, no PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin/initdb)` : TITLE, () => {
  let server: PrivatePostgres;
  let instance: Instance;
  let dataDir: string;
  let admin: string;
  let log = '';

  beforeAll(async () => {
    server = createPrivatePostgres(BIN as string, await sparePort());
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-outage-'));
    const env = {
      DATABASE_URL: server.url,
      TESSERA_SECRET: CLUSTER_SECRET,
      TESSERA_PUBLIC_URL: 'https://tessera.outage.test',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_ADMIN_EMAIL: ADMIN_EMAIL,
      TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'info',
      TESSERA_METRICS_TOKEN: CLUSTER_METRICS_TOKEN,
    };
    instance = await startInstance('outage', env, await sparePort());
    // The whole log (the instance keeps only its tail), to count its warnings.
    for (const stream of [instance.child.stdout, instance.child.stderr]) stream?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    const token = await call(instance.url, 'POST', '/api/v1/token', undefined, { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    expect(token.status, token.body).toBe(200);
    admin = token.json<{ access_token: string }>().access_token;
  }, 120_000);

  afterAll(async () => {
    await instance?.stop('SIGKILL');
    server?.destroy();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  const createKey = async (name: string) => {
    const res = await call(instance.url, 'POST', '/api/v1/access-keys', admin, { name, roles: [{ role: 'global-admin' }] });
    expect(res.status, res.body).toBe(201);
    return res.json<{ id: string; token: string }>();
  };
  const remove = async (id: string) => expect((await call(instance.url, 'DELETE', `/api/v1/access-keys/${id}`, admin)).status).toBe(204);
  const use = (token: string, id: string) => call(instance.url, 'GET', `/api/v1/access-keys/${id}`, token);
  const metric = async (name: string) => {
    const text = (await call(instance.url, 'GET', '/metrics', CLUSTER_METRICS_TOKEN)).body;
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };

  it('stays up, answers 503 + Retry-After where it needs the database, never accepts a removed key, and recovers without a restart', async () => {
    const live = await createKey('live');
    const removed = await createKey('removed');
    const removedLater = await createKey('removed-after-recovery');
    // Warm every cache: the removed key is known as removed, the others as active.
    for (const key of [live, removed, removedLater]) expect((await use(key.token, key.id)).status).toBe(200);
    await remove(removed.id);
    expect((await use(removed.token, removed.id)).status).toBe(401);

    // Load: the live key and the removed key, four loops each, from now until the end.
    const seen = { live: new Map<number, number>(), removed: new Map<number, number>() };
    let liveAccepted = 0;
    let running = true;
    const failures: string[] = [];
    const loop = async (which: 'live' | 'removed') => {
      const key = which === 'live' ? live : removed;
      while (running) {
        let res: Answer;
        try {
          res = await use(key.token, key.id);
        } catch (error) {
          failures.push(`${which}: ${(error as Error).message}`);
          break;
        }
        seen[which].set(res.status, (seen[which].get(res.status) ?? 0) + 1);
        if (res.status === 200 && which === 'live') liveAccepted++;
        if (res.status === 503) expectDatabaseUnavailable(res);
        else if (which === 'removed') expect(res.status, `the removed key got ${res.status}: ${res.body}`).toBe(401);
        else expect(res.status, res.body).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const loops = [...Array.from({ length: 4 }, () => loop('live')), ...Array.from({ length: 4 }, () => loop('removed'))];
    await new Promise((resolve) => setTimeout(resolve, 500));

    server.stop('immediate');
    const stoppedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // During the outage: requests that need the database answer 503; liveness stays, readiness goes.
    expect(instance.child.exitCode, instance.output()).toBeNull();
    expectDatabaseUnavailable(await use(live.token, live.id));
    expectDatabaseUnavailable(await call(instance.url, 'GET', '/api/v1/access-keys', admin));
    expectDatabaseUnavailable(await call(instance.url, 'POST', '/api/v1/access-keys', admin, { name: 'during-outage', roles: [{ role: 'global-viewer' }] }));
    expect((await call(instance.url, 'GET', '/healthz')).status).toBe(200);
    expect((await call(instance.url, 'GET', '/readyz')).status).toBe(503);
    expect(await metric('tessera_database_available')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - stoppedAt)));
    expect(instance.child.exitCode, instance.output()).toBeNull();
    expect(seen.live.get(503) ?? 0).toBeGreaterThan(0);
    const acceptedBeforeRecovery = liveAccepted;

    server.start();
    const restartedAt = Date.now();
    let ready: Answer | undefined;
    while (Date.now() - restartedAt < 30_000) {
      ready = await call(instance.url, 'GET', '/readyz');
      if (ready.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ready?.status, ready?.body).toBe(200);
    const recoveryMs = Date.now() - restartedAt;

    // After recovery: the same process serves again, a removal applies at once, a new key works.
    expect((await use(live.token, live.id)).status).toBe(200);
    expect((await use(removedLater.token, removedLater.id)).status).toBe(200);
    await remove(removedLater.id);
    expect((await use(removedLater.token, removedLater.id)).status).toBe(401);
    const fresh = await createKey('created-after-recovery');
    expect((await use(fresh.token, fresh.id)).status).toBe(200);
    // The outage ends in the log once the database answered for a whole probe interval.
    for (let waited = 0; waited < 10_000 && !log.includes('database available again'); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    running = false;
    await Promise.all(loops);
    expect(await metric('tessera_database_available')).toBe(1);
    expect(await metric('tessera_database_outages_total')).toBe(1);
    expect(failures).toEqual([]);
    expect(seen.removed.get(200)).toBeUndefined();
    expect(seen.live.get(500)).toBeUndefined();
    expect(seen.removed.get(500)).toBeUndefined();

    // A graceful stop flushes the usage counted; what failed to flush during the outage was kept.
    expect(await instance.stop('SIGTERM')).toBe(0);
    const output = log;
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ use_count: number }>('select use_count from access_keys where id = $1', [live.id]);
      // Every accepted request of the live key is counted (the warm-up one included).
      expect(rows[0]?.use_count).toBeGreaterThanOrEqual(liveAccepted + 1);
    } finally {
      await client.end();
    }
    // One warning for the outage, its end, and no stack trace or error line anywhere.
    expect(output.match(/database unavailable/g)?.length, output.slice(-5000)).toBe(1);
    expect(output).toMatch(/database available again/);
    expect(output.match(/.*("level":50|"stack"|Unhandled).*/)?.[0]).toBeUndefined();
    console.log(
      `outage: live key ${JSON.stringify(Object.fromEntries(seen.live))}, removed key ${JSON.stringify(Object.fromEntries(seen.removed))}, ` +
        `accepted before the database came back ${acceptedBeforeRecovery}, ready again ${recoveryMs} ms after the restart`,
    );
  }, 120_000);
});
