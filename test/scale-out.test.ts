import { performance } from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { call, CLUSTER_METRICS_TOKEN, createAdminKeyOn, kidOf, quantile, readKeyOn, type Instance } from './helpers/instances.ts';
import { useTwoInstances } from './helpers/two-instances.ts';

/** The target of issue 7: a key removed on one instance is refused by every other within this, p99, under load. */
/**
 * A change must arrive by NOTIFY within this bound: far below the listener's 5 s heartbeat
 * (the only other way caches get dropped), so passing it proves the push path, while a
 * loaded CI machine cannot make it flaky. The speed target itself is the benchmark's.
 */
const PUSH_BOUND_MS = 1000;
/** 100 removals: the p99 is the second-slowest, so one scheduling hiccup of a busy CI machine is tolerated, two are not. */
const TRIALS = 100;

/**
 * Two real instances (child processes of `node bin/tessera.js serve`) on one PostgreSQL
 * schema with one TESSERA_SECRET, as in docs/DEPLOYMENT.md. Needs the local PostgreSQL.
 */
describe.runIf(DIALECTS.includes('postgres'))('scale-out: two instances on one PostgreSQL', () => {
  const two = useTwoInstances('cluster-admin');

  const createKey = (on: Instance, name: string) => createAdminKeyOn(on, two.admin, name);
  const use = readKeyOn;
  const scrape = async (on: Instance) => (await call(on.url, 'GET', '/metrics', CLUSTER_METRICS_TOKEN)).body;

  /** Keeps `workers` loops busy with authenticated requests on every instance until stopped. */
  function load(workers: number) {
    let running = true;
    let requests = 0;
    const loops = (async () => {
      const keys = await Promise.all(Array.from({ length: workers }, (_, i) => createKey(two.a, `load-${Date.now()}-${i}`)));
      await Promise.all(
        keys.map(async (key, i) => {
          const target = i % 2 === 0 ? two.a : two.b;
          while (running) {
            const res = await use(target, key.token, key.id);
            if (res.status !== 200) throw new Error(`load request refused: ${res.status} ${res.body}`);
            requests++;
          }
        }),
      );
    })();
    return {
      get requests() {
        return requests;
      },
      stop: async () => {
        running = false;
        await loops;
      },
    };
  }

  it('a key created on A works on B at once', async () => {
    const key = await createKey(two.a, 'made-on-a');
    const res = await use(two.b, key.token, key.id);
    expect(res.status).toBe(200);
    expect(res.json().name).toBe('made-on-a');
  });

  // Correctness, not speed: every removal reaches the other instance, by NOTIFY, well before
  // any fallback could explain it. The 100 ms p99 target is measured by the benchmark
  // (bench/propagation.ts -> bench/PROPAGATION.md), not asserted here, where a shared CI
  // machine's load would make a timed assertion flaky.
  it(`a key removed on A is refused by B, pushed by NOTIFY (${TRIALS} removals under load; latency reported)`, async () => {
    const background = load(4);
    const latencies: number[] = [];
    /** Trials whose very first request after the removal was already refused. */
    let refusedAtOnce = 0;
    const acceptedLate: number[] = [];
    try {
      for (let trial = 0; trial < TRIALS; trial++) {
        const key = await createKey(trial % 2 === 0 ? two.a : two.b, `trial-${trial}`);
        const [remover, other] = trial % 2 === 0 ? [two.a, two.b] : [two.b, two.a];
        // Warm the other instance's caches: from now on it answers from memory.
        expect((await use(other, key.token, key.id)).status).toBe(200);
        expect((await use(other, key.token, key.id)).status).toBe(200);
        const removed = await call(remover.url, 'DELETE', `/api/v1/access-keys/${key.id}`, two.admin);
        expect(removed.status).toBe(204);
        const committed = performance.now();
        for (let poll = 0; ; poll++) {
          const sent = performance.now();
          const res = await use(other, key.token, key.id);
          if (res.status === 401) {
            expect(res.json().code).toBe('invalid_token');
            latencies.push(performance.now() - committed);
            if (poll === 0) refusedAtOnce++;
            break;
          }
          // Still accepted (the NOTIFY is on its way): 200, or 404 once the row is gone but the key's cached state was not yet dropped.
          expect([200, 404]).toContain(res.status);
          if (sent - committed > PUSH_BOUND_MS) acceptedLate.push(sent - committed);
          if (sent - committed > 5000) throw new Error('the removal never reached the other instance');
        }
      }
    } finally {
      await background.stop();
    }
    const p50 = quantile(latencies, 0.5);
    const p99 = quantile(latencies, 0.99);
    console.log(
      `removal -> refusal on the other instance: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${Math.max(...latencies).toFixed(2)} ms over ${latencies.length} trials (${refusedAtOnce} refused on the first request); ${background.requests} background requests`,
    );
    expect(latencies).toHaveLength(TRIALS);
    expect(acceptedLate).toEqual([]);
    expect(background.requests).toBeGreaterThan(TRIALS);
    // The instances measured the same thing from their side: NOTIFY to applied.
    const metrics = await scrape(two.b);
    expect(metrics).toMatch(/^tessera_change_propagation_seconds_count [1-9]/m);
  });

  it('edits on one instance apply on the other: roles follow at once', async () => {
    const key = await createKey(two.a, 'demoted');
    expect((await use(two.b, key.token, key.id)).status).toBe(200);
    const edited = await call(two.a.url, 'PATCH', `/api/v1/access-keys/${key.id}`, two.admin, { roles: [{ role: 'global-viewer' }] });
    expect(edited.status).toBe(200);
    await vi.waitFor(
      async () => {
        const res = await use(two.b, key.token, key.id);
        expect(res.status).toBe(403);
        expect(res.json().code).toBe('insufficient_scope');
      },
      { timeout: PUSH_BOUND_MS, interval: 2 },
    );
  });

  it('changes made by the CLI reach every instance', async () => {
    const key = JSON.parse(await two.cluster.cli(['keys', 'create', '--name', 'cli-made', '--role', 'global-admin', '--json'])) as { id: string; token: string };
    expect((await use(two.a, key.token, key.id)).status).toBe(200);
    expect((await use(two.b, key.token, key.id)).status).toBe(200);
    await two.cluster.cli(['keys', 'remove', 'cli-made']);
    // The CLI has exited, so its commit (and NOTIFY) happened before this line.
    for (const instance of [two.a, two.b]) {
      await vi.waitFor(async () => expect((await use(instance, key.token, key.id)).status).toBe(401), { timeout: PUSH_BOUND_MS, interval: 2 });
    }
  });

  it('listener connections killed: instances never accept a removed key meanwhile, and recover without restart', async () => {
    const key = await createKey(two.a, 'removed-while-deaf');
    const survivor = await createKey(two.a, 'kept-while-deaf');
    for (const instance of [two.a, two.b]) expect((await use(instance, key.token, key.id)).status).toBe(200);
    const disconnectsBefore = Number(/^tessera_change_listener_disconnects_total (\d+)/m.exec(await scrape(two.b))?.[1] ?? 0);

    // Cut both listeners, then keep cutting them for a while: a longer outage, during which
    // the instances must check key state in SQL instead of trusting their caches.
    expect(await two.cluster.killListeners([two.a, two.b])).toBe(2);
    let cutting = true;
    const cutter = (async () => {
      while (cutting) {
        await two.cluster.killListeners([two.a, two.b]);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const removed = await call(two.a.url, 'DELETE', `/api/v1/access-keys/${key.id}`, two.admin);
    expect(removed.status).toBe(204);
    const seenWhileCut: number[] = [];
    const readyWhileCut: number[] = [];
    const until = performance.now() + 1500;
    while (performance.now() < until) {
      for (const instance of [two.a, two.b]) {
        seenWhileCut.push((await use(instance, key.token, key.id)).status);
        // A key that was not removed keeps working: the fallback is slower, not an outage.
        expect((await use(instance, survivor.token, survivor.id)).status).toBe(200);
      }
      readyWhileCut.push((await call(two.b.url, 'GET', '/readyz')).status);
    }
    cutting = false;
    await cutter;
    expect(seenWhileCut.length).toBeGreaterThan(20);
    expect(new Set(seenWhileCut)).toEqual(new Set([401]));
    // Load balancers were told: not ready while the listener was down.
    expect(readyWhileCut).toContain(503);

    // Recovered by itself: ready again, and propagation works as before.
    for (const instance of [two.a, two.b]) {
      await vi.waitFor(async () => expect((await call(instance.url, 'GET', '/readyz')).status).toBe(200), { timeout: 15_000, interval: 20 });
    }
    expect(Number(/^tessera_change_listener_disconnects_total (\d+)/m.exec(await scrape(two.b))?.[1])).toBeGreaterThan(disconnectsBefore);
    const after = await createKey(two.b, 'after-recovery');
    expect((await use(two.a, after.token, after.id)).status).toBe(200);
    expect((await call(two.b.url, 'DELETE', `/api/v1/access-keys/${after.id}`, two.admin)).status).toBe(204);
    await vi.waitFor(async () => expect((await use(two.a, after.token, after.id)).status).toBe(401), { timeout: PUSH_BOUND_MS, interval: 2 });
    expect((await use(two.b, key.token, key.id)).status).toBe(401);
    expect(two.a.child.exitCode).toBeNull();
    expect(two.b.child.exitCode).toBeNull();
  });

  it('signing-key rotation by the CLI is used by every instance at once; keys issued before keep working', async () => {
    const before = await createKey(two.a, 'issued-before-rotation');
    const oldKid = kidOf(before.token);
    const out = await two.cluster.cli(['signing-keys', 'rotate']);
    const newKid = /New current signing key: (\S+)/.exec(out)?.[1];
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);
    // Both instances publish the new key right away.
    for (const instance of [two.a, two.b]) {
      await vi.waitFor(
        async () => {
          const jwks = (await call(instance.url, 'GET', '/.well-known/jwks.json')).json<{ keys: Array<{ kid: string }> }>();
          expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
        },
        { timeout: PUSH_BOUND_MS, interval: 2 },
      );
    }
    // Each instance now signs with the new key, and the other verifies it.
    const onA = await createKey(two.a, 'issued-after-rotation-a');
    const onB = await createKey(two.b, 'issued-after-rotation-b');
    expect(kidOf(onA.token)).toBe(newKid);
    expect(kidOf(onB.token)).toBe(newKid);
    expect((await use(two.b, onA.token, onA.id)).status).toBe(200);
    expect((await use(two.a, onB.token, onB.id)).status).toBe(200);
    // No issued key breaks.
    for (const instance of [two.a, two.b]) expect((await use(instance, before.token, before.id)).status).toBe(200);
    for (const instance of [two.a, two.b]) expect((await use(instance, two.admin, before.id)).status).toBe(200);
  });

  it('stops gracefully on SIGTERM under load: answers stay correct, then the process exits 0', async () => {
    const key = await createKey(two.a, 'graceful');
    const statuses: number[] = [];
    const connectionErrors: string[] = [];
    let running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          statuses.push((await use(two.b, key.token, key.id)).status);
        } catch (error) {
          // Refused or reset before an answer began: the load balancer retries elsewhere.
          connectionErrors.push((error as NodeJS.ErrnoException).code ?? String(error));
          if (connectionErrors.length > 50) break;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    });
    await vi.waitFor(() => expect(statuses.length).toBeGreaterThan(20));
    const code = await two.b.stop('SIGTERM');
    running = false;
    await Promise.all(loops);
    expect(code).toBe(0);
    // Requests that reached B were answered properly (200), or told it is closing (503); never a 500.
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(connectionErrors.filter((c) => c !== 'ECONNREFUSED' && c !== 'ECONNRESET' && c !== 'EPIPE')).toEqual([]);
    // A is unaffected.
    expect((await use(two.a, key.token, key.id)).status).toBe(200);
  });
});
