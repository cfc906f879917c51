/**
 * Removal-to-refusal latency across instances: N real Tessera instances (child processes of
 * `node bin/tessera.js serve`) on one PostgreSQL, kept busy by authenticated load; a key is
 * removed on one instance and the others are asked with it until they refuse it. A removal is
 * answered only once every live instance has applied it (src/changes/instances.ts), so the DELETE's
 * own time includes that wait, and no instance should accept the key after the 204.
 *
 *   npm run build && npx tsx bench/propagation.ts   (runs the build; needs the local PostgreSQL, as the tests do)
 *   TRIALS=500 WORKERS=16 INSTANCES=3 npx tsx bench/propagation.ts
 *
 * Writes bench/PROPAGATION.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ACKNOWLEDGEMENT_BOUND_MS } from '../src/changes/instances.ts';
import { TEST_PG_URL } from '../test/helpers/databases.ts';
import { call, CLUSTER_METRICS_TOKEN, startCluster, type Instance } from '../test/helpers/instances.ts';
import { ms, percentile, percentileRow } from './lib/measure.ts';

const TRIALS = Number(process.env['TRIALS'] ?? 300);
const WORKERS = Number(process.env['WORKERS'] ?? 8);
const INSTANCES = Math.max(2, Number(process.env['INSTANCES'] ?? 2));
const OUT = new URL('./PROPAGATION.md', import.meta.url);

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ?? '?';
  } finally {
    await client.end();
  }
}

/** p50/p99 of a Prometheus histogram from its cumulative buckets (upper bounds, in ms). */
function histogram(text: string, name: string): { count: number; p50: string; p99: string; mean: number } {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))].map((m) => ({
    le: m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000,
    n: Number(m[2]),
  }));
  const count = Number(new RegExp(`^${name}_count (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const sum = Number(new RegExp(`^${name}_sum ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? 0) * 1000;
  const at = (q: number) => {
    const bucket = buckets.find((b) => b.n >= q * count);
    return bucket === undefined ? 'n/a' : bucket.le === Infinity ? '> 1000' : `≤ ${bucket.le}`;
  };
  return { count, p50: at(0.5), p99: at(0.99), mean: count === 0 ? NaN : sum / count };
}

async function main(): Promise<void> {
  console.log(`starting ${INSTANCES} instances…`);
  const cluster = await startCluster(INSTANCES);
  try {
    const instances = cluster.instances;
    const admin = JSON.parse(await cluster.cli(['keys', 'create', '--name', 'bench-admin', '--role', 'global-admin', '--json'])).token as string;
    const createKey = async (on: Instance, name: string) => {
      const res = await call(on.url, 'POST', '/api/v1/access-keys', admin, { name, roles: [{ role: 'global-admin' }] });
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.body}`);
      return res.json<{ id: string; token: string }>();
    };
    const use = (on: Instance, token: string, id: string) => call(on.url, 'GET', `/api/v1/access-keys/${id}`, token);
    console.log(`${TRIALS} trials, ${WORKERS} load workers…`);

    // Background load: WORKERS loops, spread over the instances, each with its own key.
    let running = true;
    const loadLatencies: number[] = [];
    let loadRequests = 0;
    const loadKeys = await Promise.all(Array.from({ length: WORKERS }, (_, i) => createKey(instances[0]!, `load-${i}`)));
    const loadStarted = performance.now();
    const loops = loadKeys.map(async (key, i) => {
      const target = instances[i % instances.length]!;
      while (running) {
        const t = performance.now();
        const res = await use(target, key.token, key.id);
        if (res.status !== 200) throw new Error(`load request failed: ${res.status}`);
        loadLatencies.push(performance.now() - t);
        loadRequests++;
      }
    });

    const toRefusal: number[] = [];
    const fromDeleteSent: number[] = [];
    const deleteLatencies: number[] = [];
    let staleAnswers = 0;
    let latestStale = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const remover = instances[trial % instances.length]!;
      const others = instances.filter((i) => i !== remover);
      const key = await createKey(remover, `trial-${trial}`);
      for (const other of others) await use(other, key.token, key.id); // warm their caches
      const sent = performance.now();
      const removed = await call(remover.url, 'DELETE', `/api/v1/access-keys/${key.id}`, admin);
      if (removed.status !== 204) throw new Error(`remove failed: ${removed.status}`);
      const committed = performance.now();
      deleteLatencies.push(committed - sent);
      // Ask every other instance until each refuses; the slowest one counts.
      let slowest = 0;
      await Promise.all(
        others.map(async (other) => {
          for (;;) {
            const asked = performance.now();
            const res = await use(other, key.token, key.id);
            if (res.status === 401) {
              slowest = Math.max(slowest, performance.now() - committed);
              return;
            }
            staleAnswers++;
            latestStale = Math.max(latestStale, asked - committed);
            if (asked - committed > 10_000) throw new Error('a removal never propagated');
          }
        }),
      );
      toRefusal.push(slowest);
      fromDeleteSent.push(slowest + (committed - sent));
    }
    running = false;
    await Promise.all(loops);
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const metrics = await Promise.all(instances.map(async (i) => (await call(i.url, 'GET', '/metrics', CLUSTER_METRICS_TOKEN)).body));
    const merged = mergeExpositions(metrics);
    const lag = histogram(merged, 'tessera_change_propagation_seconds');
    const acknowledged = histogram(merged, 'tessera_change_acknowledgement_seconds');
    const outcome = (name: string) => Number(new RegExp(`^tessera_change_acknowledgements_total\\{outcome="${name}"\\} (\\d+)`, 'm').exec(merged)?.[1] ?? 0);

    const lines = [
      '# Propagation across instances: removal on one, refusal on the others',
      '',
      `Measured by \`bench/propagation.ts\` on ${new Date().toISOString().slice(0, 10)}: ${INSTANCES} instances (child processes of \`node bin/tessera.js serve\`) on one PostgreSQL ${await postgresVersion()}, all on one machine (${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}), which also runs the load generator (one-minute load average ${loadavg()[0]?.toFixed(1)} at the end; the machine is shared with other work). ${TRIALS} trials: modest, as the machine has two cores.`,
      '',
      `Load: ${WORKERS} concurrent clients, each looping authenticated \`GET /api/v1/access-keys/{id}\` (cache-warm auth + one SQL read) spread over the instances: ${loadRequests} requests in ${loadSeconds.toFixed(1)} s = **${Math.round(loadRequests / loadSeconds)} req/s** in total, latency p50 ${ms(percentile(loadLatencies, 50))}, p99 ${ms(percentile(loadLatencies, 99))}.`,
      '',
      `Each of ${TRIALS} trials: create a key, use it on the other instance(s) so their caches hold it, remove it on one instance (\`DELETE\`, 204 = committed and applied by every other live instance, or the ${ACKNOWLEDGEMENT_BOUND_MS} ms bound passed), then ask every other instance with it until each answers 401. The removing instance takes turns.`,
      '',
      '| measure | p50 | p99 | max |',
      '| --- | --- | --- | --- |',
      percentileRow('commit (204 received) → 401 received from the slowest other instance', toRefusal, { bold: true }),
      percentileRow('DELETE sent → 401 received from the slowest other instance', fromDeleteSent),
      percentileRow(
        `**the DELETE itself, ${INSTANCES} instances under load** (transaction + audit + NOTIFY + wait for every other instance's acknowledgement)`,
        deleteLatencies,
        { bold: true },
      ),
      `| server side: NOTIFY sent → cache dropped (\`tessera_change_propagation_seconds\`, ${lag.count} changes, bucket bounds) | ${lag.p50} ms | ${lag.p99} ms | mean ${ms(lag.mean)} |`,
      `| server side: commit → every other live instance acknowledged (\`tessera_change_acknowledgement_seconds\`, ${acknowledged.count} writes, bucket bounds) | ${acknowledged.p50} ms | ${acknowledged.p99} ms | mean ${ms(acknowledged.mean)} |`,
      '',
      `Requests still accepted after the 204: **${staleAnswers}** in ${TRIALS} trials${staleAnswers > 0 ? `, the latest sent ${ms(latestStale)} after it` : ''} (target: none). Acknowledgements: ${outcome('confirmed')} confirmed by every live instance, ${outcome('instance_lost')} with an instance gone silent, ${outcome('timed_out')} answered at the bound.`,
      '',
      'The first row includes the round trip of the refused request itself, so it is an upper bound: the removal was applied everywhere before the 204, so the first request after it is refused. The server-side lag is timed from the timestamp the writer puts in the NOTIFY payload (taken just before commit, so it includes the commit) to the cache invalidation on the listener, on one machine clock.',
      '',
    ];
    writeFileSync(OUT, lines.join('\n'));
    console.log(lines.join('\n'));
  } finally {
    await cluster.close();
  }
}

/** Sums each series over the instances' expositions (so histograms cover the whole cluster). */
function mergeExpositions(texts: string[]): string {
  const sums = new Map<string, number>();
  for (const line of texts.join('\n').split('\n')) {
    const space = line.lastIndexOf(' ');
    if (line.startsWith('#') || space <= 0) continue;
    const series = line.slice(0, space);
    sums.set(series, (sums.get(series) ?? 0) + Number(line.slice(space + 1)));
  }
  return [...sums].map(([series, value]) => `${series} ${value}`).join('\n');
}

await main();
