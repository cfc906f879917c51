/**
 * The benchmark: `npm run bench` (about 30 minutes on 2 cores) or `npm run bench -- --quick`
 * (a few minutes, smaller data, shorter rounds). Writes bench/REPORT.md and bench/results.json.
 * Parts: the console in Chromium, the comparison ((a)–(c), (e) and plain Fastify (f) on the
 * cached list, and a CPU profile of (b); what authentication costs each system, and (d) against
 * its reference, on an uncached route), then scale on SQLite and PostgreSQL.
 *
 *   --quick            3 s rounds, 100,000 keys for the scale part
 *   --no-postgres      the scale part on SQLite only
 *   --scale-keys N     keys for the scale part (default 1,000,000)
 *   --only list        only the scale part's list latencies (each dialect), printed as JSON lines
 *   --only tax         only (a), (b) and (f) in alternating rounds, then the profile of (b), as JSON lines
 *   --only cold        only (d) and its reference in alternating rounds, then a profile of (d), as JSON lines
 *   --out FILE         the report (default bench/REPORT.md)
 *
 * PostgreSQL: TESSERA_BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test when
 * reachable (each run works in a schema of its own and drops it).
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { verify as cryptoVerify } from 'node:crypto';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import type { FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import { loadConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { TOKEN_AUDIENCE, TOKEN_TYPES } from '../src/auth/tokens.ts';
import { ACCESS_KEY_SORTS } from '../src/access-keys/access-key.repository.ts';
import { AccessKeyAuthenticator } from '../src/access-keys/access-key.auth.ts';
import { BENCH_METRICS_TOKEN, BENCH_PUBLIC_URL, makeDataset, postgresReachable, settleDisk, type Dataset } from './lib/datasets.ts';
import { load, LoadSeries, median, percentile, timed, type LoadResult } from './lib/measure.ts';
import { breakdown, type CpuProfile, type ProfileBreakdown } from './lib/profile.ts';
import { pinCores, ROOT, serve, type Served } from './lib/processes.ts';
import { fmt } from './lib/progress.ts';
import { AUTHENTICATION_COST } from './lib/report.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-postgres': { type: 'boolean', default: false },
    'scale-keys': { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench/REPORT.md') },
  },
});
const quick = args.quick;
const S = quick
  ? {
      rounds: 3,
      seconds: 3,
      slices: 3,
      warmup: 1,
      scaleKeys: 100_000,
      assets: 10_000,
      listSamples: 6,
      creates: 60,
      rateSeconds: 3,
      pool: 10_000,
      scalePool: 2_000,
      micro: 1_000,
    }
  : {
      rounds: 5,
      seconds: 8,
      slices: 4,
      warmup: 2,
      scaleKeys: 1_000_000,
      assets: 100_000,
      listSamples: 40,
      creates: 200,
      rateSeconds: 10,
      pool: 10_000,
      scalePool: 10_000,
      micro: 3_000,
    };
if (args['scale-keys'] !== undefined) S.scaleKeys = Number(args['scale-keys']);
const CONNECTIONS = 50;
const LIST = '/api/v1/cloud-accounts';
const ONE_ACCOUNT_ROUTE = `${LIST}/:id`;
const PG_URL = process.env['TESSERA_BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const runStarted = performance.now();
const log = (message: string) => process.stderr.write(`[bench ${((performance.now() - runStarted) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A Tessera server at the default log level (a line per request); with `authenticationOff`, a
 * second app of the same process serves the compared routes without authentication (at
 * `offPort`).
 */
const tesseraServer = (dataset: Dataset, mode: 'auth' | 'cold', authenticationOff = false) =>
  serve<TesseraInfo>('bench/servers/tessera.ts', authenticationOff ? [mode, LIST, ONE_ACCOUNT_ROUTE] : [mode], dataset.env);

/** The ports a Tessera server announces beside its own (bench/servers/tessera.ts). */
type TesseraInfo = { offPort?: number; referencePort?: number; controlPort?: number };

/** Where a server's app without authentication answers (bench/servers/tessera.ts, bench/servers/peer.ts). */
function offOrigin(server: Served<{ offPort?: number }>): string {
  if (server.info.offPort === undefined) throw new Error('this server runs no app without authentication');
  return `http://127.0.0.1:${server.info.offPort}`;
}

type MeasuredLoad = LoadResult & { cpuUsPerRequest: number };

/**
 * A load run, with the server's own CPU time per request: unlike throughput, that does not
 * move when the server is kept off its core (other work, the host), only when a request
 * costs more. `after` runs inside the measured window (work the requests left to do).
 */
async function measuredLoad(server: Served<object>, options: Parameters<typeof load>[0], after?: () => Promise<void>): Promise<MeasuredLoad> {
  const cpuBefore = server.cpuSeconds();
  const result = await load(options);
  await after?.();
  return { ...result, cpuUsPerRequest: ((server.cpuSeconds() - cpuBefore) * 1e6) / Math.max(result.requests, 1) };
}

/** One GET that must answer 200 (checks that a target serves what the benchmark expects); its body. */
async function expectOk(url: string, token: string | undefined): Promise<unknown> {
  const res = await timed(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body);
}

const itemsOf = (body: unknown) => (body as { items: Array<{ id: string }> }).items;

// ---------------------------------------------------------------------------------------------
// Part 1: the comparison, alternating rounds. Two routes:
// - the list (a)-(c), (e): Tessera answers it from its page cache (src/db/read-cache.ts, the only
//   ReadCache: cloud-account pages); the peers read SQL on every request.
// - one account by id: what authentication costs, system by system. No system caches this
//   answer (Tessera's route reads the row through the service on every request), so each
//   system's authenticated app against an app of the same process without authentication, on
//   this route, is the cost of its authentication alone: warm (one credential, seen before) and
//   cold (a pool of distinct credentials; Tessera's caches sized 1, so none is remembered), and
//   (d)'s reference, a raw verification and lookup in Tessera's authenticator's place.

/** A peer server as it announces itself (bench/servers/peer.ts). */
type PeerInfo = { offPort: number; token: string; pool: string[] };

interface Target {
  id: string;
  title: string;
  /** The process whose CPU time is measured. */
  server: Served<object>;
  /** The app asked: the server's own, or its app without authentication. */
  origin: string;
  /** The path requested (the list, or one account). */
  path: string;
  token?: string;
  tokens?: readonly string[];
  /** A Tessera server: its cache counters are read from /metrics around each run. */
  tessera: boolean;
  /** Work the target's requests left to do, run after its last slice of a round, inside its measured window. */
  afterRun?: () => Promise<void>;
  /** Items the first answer must hold (the Cloud Account Viewer's one account). */
  expectItems?: number;
  items?: number;
}

/** Target (f)'s server: plain Fastify sending the bytes and headers of (b)'s answer (bench/servers/plain.ts). */
const plainServer = (auth: Served<object>, keys: Dataset['keys']) => serve<object>('bench/servers/plain.ts', [auth.url + LIST], { BENCH_TOKEN: keys.viewer });

/**
 * (a), (b) and (f): Tessera's list with authentication off and on, against plain Fastify
 * sending the same bytes. (a) and (f) get the same requests as (b), Authorization header
 * included, and do not look at it: the difference is the work of authenticating (and, for (f),
 * of being Tessera), not the bytes of carrying a credential.
 */
function taxTargets(auth: Served<{ offPort?: number }>, plain: Served<object>, keys: Dataset['keys']): Target[] {
  return [
    {
      id: 'a',
      title: "(a) Tessera, authentication off for the route ((b)'s process)",
      server: auth,
      origin: offOrigin(auth),
      path: LIST,
      token: keys.viewer,
      tessera: true,
    },
    { id: 'b', title: '(b) Tessera, Global Viewer key', server: auth, origin: auth.url, path: LIST, token: keys.viewer, tessera: true },
    { id: 'f', title: "(f) plain Fastify 5 sending (b)'s answer bytes and headers", server: plain, origin: plain.url, path: LIST, token: keys.viewer, tessera: false },
  ];
}

/**
 * The cold server's batched writes of what its requests counted (usage, activity), which it
 * holds back until asked (bench/servers/tessera.ts), so that they are charged to (d) alone.
 */
function flushCounts(cold: Served<TesseraInfo>): () => Promise<void> {
  return async () => {
    const res = await fetch(`http://127.0.0.1:${cold.info.controlPort}/flush`, { method: 'POST' });
    if (res.status !== 204) throw new Error(`the cold server's flush answered ${res.status}: ${await res.text()}`);
  };
}

/**
 * (d): Tessera cold (caches sized 1, a different key from the pool on each request) and its
 * reference, both served by the cold server's process, against that process's app without
 * authentication, on one account. One process for all three: a process can run the same code
 * faster or slower than another for its whole life, which would move the ratio.
 */
function coldTargets(cold: Served<TesseraInfo>, keys: Dataset['keys'], account: string): Target[] {
  if (cold.info.referencePort === undefined) throw new Error('the cold server serves no reference');
  const common = { server: cold, path: account, tessera: true };
  return [
    { id: 'tessera-cold-off', title: "Tessera, authentication off (the cold server's process)", origin: offOrigin(cold), token: keys.viewer, ...common },
    {
      id: 'tessera-cold',
      title: `(d) Tessera cold, caches sized 1: a different key per request from ${fmt(keys.pool.length)}`,
      origin: cold.url,
      tokens: keys.pool,
      afterRun: flushCounts(cold),
      ...common,
    },
    {
      id: 'reference',
      title: "(d)'s reference: raw Ed25519 verification + one indexed lookup in the authenticator's place (the cold server's process), same pool",
      origin: `http://127.0.0.1:${cold.info.referencePort}`,
      tokens: keys.pool,
      ...common,
    },
  ];
}

/** Checks that each target answers 200 with the items expected (noting how many), then warms each up. */
async function readyTargets(targets: Target[]): Promise<void> {
  for (const t of targets) {
    const body = await expectOk(t.origin + t.path, t.token ?? t.tokens?.[0]);
    t.items = t.path === LIST ? itemsOf(body).length : 1;
    if (t.expectItems !== undefined && t.items !== t.expectItems) throw new Error(`${t.title}: ${t.items} items, not ${t.expectItems}`);
  }
  settleDisk(); // the servers' copies of the database, just written
  for (const t of targets) await load({ url: t.origin + t.path, seconds: S.warmup, connections: CONNECTIONS, token: t.token, tokens: t.tokens });
}

/** The account route's path for the first account the server lists. */
async function firstAccountPath(server: Served<{ offPort?: number }>): Promise<string> {
  return `${LIST}/${itemsOf(await expectOk(offOrigin(server) + LIST, undefined))[0]!.id}`;
}

/**
 * A round's servers and targets: `build` starts the servers (each passed through `started`)
 * and names the targets, which are then checked and warmed up. A failure stops what started.
 */
async function startRound(build: (started: <T extends Served<object>>(server: T) => T) => Promise<Target[]>): Promise<{ servers: Served<object>[]; targets: Target[] }> {
  const servers: Served<object>[] = [];
  try {
    const targets = await build((server) => {
      servers.push(server);
      return server;
    });
    await readyTargets(targets);
    return { servers, targets };
  } catch (error) {
    for (const s of servers) await s.stop();
    throw error;
  }
}

/**
 * Starts every server of the comparison: two Tessera servers (warm, cold with its reference) on their own copies of the
 * database, and the two peers. Returns them and the targets measured against them.
 */
function startComparisonServers(base: Dataset, work: string, betterAuthSeed: string): Promise<{ servers: Served<object>[]; targets: Target[] }> {
  return startRound(async (started) => {
    const peer = async (name: 'better-auth' | 'fastify-jwt') => {
      const dir = mkdtempSync(join(work, `${name}-`));
      if (name === 'better-auth') cpSync(betterAuthSeed, dir, { recursive: true });
      return started(await serve<PeerInfo>(`bench/servers/${name}.ts`, [base.file!, dir, String(S.pool)], {}));
    };
    const auth = started(await tesseraServer(base.copy(), 'auth', true));
    const plain = started(await plainServer(auth, base.keys));
    const cold = started(await tesseraServer(base.copy(), 'cold', true));
    const betterAuth = await peer('better-auth');
    const fastifyJwt = await peer('fastify-jwt');
    const { keys } = base;
    const account = await firstAccountPath(auth);
    const tessera = { tessera: true };
    const other = { tessera: false };
    const pooled = (what: string, n: number) => `a different ${what} per request from ${fmt(n)}`;
    const targets: Target[] = [
      ...taxTargets(auth, plain, keys),
      {
        id: 'c',
        title: '(c) Tessera, Cloud Account Viewer of 1 of 50 accounts',
        server: auth,
        origin: auth.url,
        path: LIST,
        token: keys.accountViewer,
        expectItems: 1,
        ...tessera,
      },
      { id: 'better-auth', title: '(e) better-auth + API-key plugin', server: betterAuth, origin: betterAuth.url, path: LIST, token: betterAuth.info.token, ...other },
      {
        id: 'fastify-jwt',
        title: '(e) Fastify + @fastify/jwt + SQL revocation lookup',
        server: fastifyJwt,
        origin: fastifyJwt.url,
        path: LIST,
        token: fastifyJwt.info.token,
        ...other,
      },
      // One account by id: each system with authentication off (an app of the same process, which
      // gets the warm requests, credential included, and ignores it), warm and cold.
      { id: 'tessera-off', title: 'Tessera, authentication off', server: auth, origin: offOrigin(auth), path: account, token: keys.viewer, ...tessera },
      { id: 'tessera-warm', title: 'Tessera, one Global Viewer key', server: auth, origin: auth.url, path: account, token: keys.viewer, ...tessera },
      ...coldTargets(cold, keys, account),
      {
        id: 'fastify-jwt-off',
        title: 'Fastify + @fastify/jwt, authentication off',
        server: fastifyJwt,
        origin: offOrigin(fastifyJwt),
        path: account,
        token: fastifyJwt.info.token,
        ...other,
      },
      {
        id: 'fastify-jwt-warm',
        title: 'Fastify + @fastify/jwt + SQL, one token',
        server: fastifyJwt,
        origin: fastifyJwt.url,
        path: account,
        token: fastifyJwt.info.token,
        ...other,
      },
      {
        id: 'fastify-jwt-cold',
        title: `Fastify + @fastify/jwt + SQL, ${pooled('token', fastifyJwt.info.pool.length)}`,
        server: fastifyJwt,
        origin: fastifyJwt.url,
        path: account,
        tokens: fastifyJwt.info.pool,
        ...other,
      },
      {
        id: 'better-auth-off',
        title: 'better-auth, authentication off',
        server: betterAuth,
        origin: offOrigin(betterAuth),
        path: account,
        token: betterAuth.info.token,
        ...other,
      },
      {
        id: 'better-auth-warm',
        title: 'better-auth + API-key plugin, one key',
        server: betterAuth,
        origin: betterAuth.url,
        path: account,
        token: betterAuth.info.token,
        ...other,
      },
      {
        id: 'better-auth-cold',
        title: `better-auth + API-key plugin, ${pooled('key', betterAuth.info.pool.length)}`,
        server: betterAuth,
        origin: betterAuth.url,
        path: account,
        tokens: betterAuth.info.pool,
        ...other,
      },
    ];
    return targets;
  });
}

type CacheCounters = Awaited<ReturnType<typeof warmPathCounters>>;

/**
 * Alternating rounds: each round starts new server processes (`start`: one process can run a
 * request slower than another of the same program for its whole life, so the median is over
 * processes too) and measures every target for S.seconds, in S.slices slices: one slice of each
 * target in turn, then the next, so that a spell of noise on the machine (seconds long, and
 * up to a third of a server's speed) falls on every target of the round alike. Each round
 * begins at another target, so that no target always follows the same one. Tessera's cache
 * counters are summed per target over its own slices.
 */
async function alternatingRounds(
  name: string,
  start: (round: number) => Promise<{ servers: Served<object>[]; targets: Target[] }>,
): Promise<{
  runs: Record<string, MeasuredLoad[]>;
  counters: Record<string, CacheCounters>;
  memory: Record<string, { rssMb: number; peakMb: number }>;
  targets: Target[];
}> {
  const runs: Record<string, MeasuredLoad[]> = {};
  const counters: Record<string, CacheCounters> = {};
  let memory: Record<string, { rssMb: number; peakMb: number }> = {};
  let targets: Target[] = [];
  for (let round = 0; round < S.rounds; round++) {
    const started = await start(round);
    targets = started.targets;
    try {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      const measured = new Map(order.map((t) => [t, { series: new LoadSeries(), cpuSeconds: 0 }]));
      for (let slice = 0; slice < S.slices; slice++) {
        for (const t of order) {
          const m = measured.get(t)!;
          const before = t.tessera ? await warmPathCounters(t.server) : undefined;
          const cpuBefore = t.server.cpuSeconds();
          await m.series.run({ url: t.origin + t.path, seconds: S.seconds / S.slices, connections: CONNECTIONS, token: t.token, tokens: t.tokens });
          if (slice === S.slices - 1) await t.afterRun?.();
          m.cpuSeconds += t.server.cpuSeconds() - cpuBefore;
          if (before !== undefined) {
            const counted = countersSince(before, await warmPathCounters(t.server));
            const sum = (counters[t.id] ??= { changesApplied: 0, tokenMisses: 0, stateMisses: 0, pageHits: 0, pageMisses: 0 });
            for (const key of Object.keys(counted) as Array<keyof CacheCounters>) sum[key] += counted[key];
          }
        }
      }
      for (const [t, m] of measured) {
        const loaded = m.series.result();
        const result = { ...loaded, cpuUsPerRequest: (m.cpuSeconds * 1e6) / Math.max(loaded.requests, 1) };
        (runs[t.id] ??= []).push(result);
        log(
          `${name} round ${round + 1}/${S.rounds} ${t.id.padEnd(16)} ${fmt(Math.round(result.rps)).padStart(7)} req/s  ${result.cpuUsPerRequest.toFixed(1).padStart(6)} µs CPU/req  p99 ${result.p99.toFixed(2)} ms  non-2xx ${result.non2xx}  load ${result.load.toFixed(2)}`,
        );
      }
      memory = Object.fromEntries(targets.map((t) => [t.id, t.server.memory()]));
    } finally {
      for (const s of started.servers) await s.stop();
    }
  }
  return { runs, counters, memory, targets };
}

async function comparison() {
  log(`comparison: generating 50 accounts and a pool of ${fmt(S.pool)} keys with real tokens (SQLite)`);
  const base = await makeDataset('sqlite', { keys: S.pool, accounts: 50, assets: 1_000, tokenPool: S.pool }, PG_URL);
  const work = mkdtempSync(join(tmpdir(), 'tessera-bench-peers-'));
  try {
    // better-auth makes its keys through its API, about a millisecond each: once, in a folder
    // each round's better-auth servers get a copy of.
    log(`comparison: better-auth makes its ${fmt(S.pool + 1)} API keys`);
    const betterAuthSeed = mkdtempSync(join(work, 'better-auth-seed-'));
    await (await serve<PeerInfo>('bench/servers/better-auth.ts', [base.file!, betterAuthSeed, String(S.pool)], {})).stop();
    const { runs, counters, memory, targets } = await alternatingRounds('comparison', (round) => {
      log(`comparison round ${round + 1}/${S.rounds}: starting Tessera (warm, cold), better-auth and Fastify + @fastify/jwt, ${S.warmup} s warm-up per target`);
      return startComparisonServers(base, work, betterAuthSeed);
    });
    return {
      targets: targets.map(({ id, title, items, path, tessera }) => ({ id, title, items, route: path === LIST ? 'list' : 'one-account', tessera })),
      runs,
      counters,
      memory,
      authenticationCost: { route: ONE_ACCOUNT_ROUTE, systems: AUTHENTICATION_COST, reference: { off: 'tessera-cold-off', cold: 'reference' } },
      poolSize: S.pool,
      connections: CONNECTIONS,
      baseline: await baseline(base),
      profile: await profileWarmPath(base),
    };
  } finally {
    await base.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The reference for (d): a raw Ed25519 verification (node:crypto) of a pool token plus one
 * lookup of its key by primary key (better-sqlite3, prepared), per request; and, for the
 * record, jose's jwtVerify and Tessera's TokenService.verify on the same tokens.
 */
async function baseline(dataset: Dataset) {
  const config = loadConfig(dataset.env);
  const ctx = await createContext(config, createLogger({ logLevel: 'warn' }), { listen: false });
  const db = new SQLite(dataset.file!, { readonly: true });
  try {
    const pool = dataset.keys.pool.slice(0, S.micro);
    const kid = (JSON.parse(Buffer.from(pool[0]!.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    const key = (await ctx.signingKeys.verificationKey(kid))!;
    const byId = db.prepare('select * from access_keys where id = ?');
    const parts = pool.map((t) => {
      const dot = t.lastIndexOf('.');
      const sub = (JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
      return { data: Buffer.from(t.slice(0, dot)), signature: Buffer.from(t.slice(dot + 1), 'base64url'), sub };
    });
    // Interleaved passes, best of 7: on a shared machine, noise only ever adds time.
    const ops: Record<string, (i: number) => unknown> = {
      rawVerifyLookupUs: (i) => {
        const p = parts[i]!;
        if (!cryptoVerify(null, p.data, key, p.signature)) throw new Error('bad signature');
        if (byId.get(p.sub) === undefined) throw new Error('no key');
      },
      rawVerifyUs: (i) => cryptoVerify(null, parts[i]!.data, key, parts[i]!.signature),
      lookupUs: (i) => byId.get(parts[i]!.sub),
      tesseraVerifyUs: (i) => ctx.tokens.verify('accessKey', pool[i]!),
      joseVerifyUs: (i) =>
        jwtVerify(pool[i]!, key, {
          algorithms: ['EdDSA'],
          issuer: BENCH_PUBLIC_URL,
          audience: TOKEN_AUDIENCE,
          typ: TOKEN_TYPES.accessKey,
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        }),
      // What a warm request pays for authentication, as the access-control hook runs it: the
      // SQLite change check, then the authenticator (header, caches, expiry, usage count).
      // A request object per call, as the server has: the rate limit counts a request once.
      warmAuthUs: async () => {
        ctx.changes.sync();
        const result = await ctx.authenticator.authenticate(viewerRequest());
        if (result?.ok !== true) throw new Error('the warm key was refused');
      },
      // What (d) pays for authentication, as the cold server runs it: the change check, then an
      // authenticator with caches of one (signature, claims, key read, hash compare, usage count).
      coldAuthUs: async (i) => {
        ctx.changes.sync();
        const result = await cold.verify(pool[i]!, request);
        if (!result.ok) throw new Error(`a pool key was refused: ${result.reason}`);
      },
    };
    const cold = new AccessKeyAuthenticator(ctx.storage, ctx.tokens, ctx.changes, ctx.clock, { tokenCacheSize: 1, stateCacheSize: 1 });
    cold.onUse(ctx.usage.record);
    const viewerRequest = () => ({ headers: { authorization: `Bearer ${dataset.keys.viewer}` }, ip: '127.0.0.1' }) as unknown as FastifyRequest;
    const request = viewerRequest();
    const best: Record<string, number> = {};
    for (let pass = 0; pass < 7; pass++) {
      for (const [name, fn] of Object.entries(ops)) {
        const started = performance.now();
        for (let i = 0; i < pool.length; i++) await fn(i);
        best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, ((performance.now() - started) * 1000) / pool.length);
      }
    }
    return {
      rawVerifyLookupUs: best['rawVerifyLookupUs']!,
      rawVerifyUs: best['rawVerifyUs']!,
      lookupUs: best['lookupUs']!,
      tesseraVerifyUs: best['tesseraVerifyUs']!,
      joseVerifyUs: best['joseVerifyUs']!,
      warmAuthUs: best['warmAuthUs']!,
      coldAuthUs: best['coldAuthUs']!,
    };
  } finally {
    db.close();
    await ctx.close();
  }
}

/**
 * Where a target's server time goes: a new server of the mode, warmed up, then one load run
 * under a CPU profile started and stopped around it (bench/servers/tessera.ts, BENCH_PROFILE),
 * with the CPU per request from /proc over the same run (profiler included); the profile's busy
 * time grouped by step (bench/lib/profile.ts). `keep`: where to leave the raw profile.
 */
async function profileOf(
  base: Dataset,
  target: { name: string; mode: 'auth' | 'cold'; path: string; token?: string; tokens?: readonly string[]; flush?: boolean },
  keep?: string,
): Promise<ProfileBreakdown & { requests: number; cpuUsPerRequest: number; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-profile-'));
  const file = join(dir, 'target.cpuprofile');
  try {
    const copy = base.copy();
    const server = await tesseraServer({ ...copy, env: { ...copy.env, BENCH_PROFILE: file } }, target.mode);
    const run = { url: server.url + target.path, connections: CONNECTIONS, token: target.token, tokens: target.tokens };
    let result: MeasuredLoad;
    try {
      await expectOk(run.url, target.token ?? target.tokens?.[0]);
      await load({ ...run, seconds: S.warmup });
      server.child.kill('SIGUSR2');
      result = await measuredLoad(server, { ...run, seconds: S.seconds }, target.flush === true ? flushCounts(server) : undefined);
      server.child.kill('SIGUSR2');
      for (const started = performance.now(); !existsSync(file); ) {
        if (performance.now() - started > 30_000) throw new Error('the profiled server wrote no profile within 30 s');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await server.stop();
    }
    if (keep !== undefined) cpSync(file, keep);
    const profile = breakdown(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
    log(`profile of ${target.name}: ${fmt(result.requests)} requests, ${result.cpuUsPerRequest.toFixed(1)} µs CPU/req under the profiler`);
    return { ...profile, requests: result.requests, cpuUsPerRequest: result.cpuUsPerRequest, seconds: S.seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where (b)'s server time goes (the warm list). */
const profileWarmPath = (base: Dataset) => profileOf(base, { name: '(b)', mode: 'auth', path: LIST, token: base.keys.viewer });

// ---------------------------------------------------------------------------------------------
// Part 2: scale, per dialect.

const FILTERS: Array<{ label: string; query: string }> = [
  { label: 'no filter', query: '' },
  { label: 'name contains "deploy"', query: 'name=deploy' },
  { label: 'name matching nothing', query: 'name=no-such-key-anywhere' },
  { label: 'role global-admin', query: 'role=global-admin' },
  { label: 'role global-viewer', query: 'role=global-viewer' },
  { label: 'role cloud-account-viewer', query: 'role=cloud-account-viewer' },
  { label: 'status active', query: 'status=active' },
  { label: 'status expired', query: 'status=expired' },
  { label: 'status expiring', query: 'status=expiring' },
  { label: 'status disabled', query: 'status=disabled' },
];

interface ListCase {
  sort: string;
  order: string;
  filter: string;
  p50: number;
  p95: number;
  max: number;
  samples: number;
  pages: number;
}

/** Each sort × order × filter: a chain of pages (following nextCursor), restarted at the end. */
async function listLatencies(server: Served<object>, adminToken: string): Promise<ListCase[]> {
  const cases: ListCase[] = [];
  const headers = { authorization: `Bearer ${adminToken}` };
  for (const sort of ACCESS_KEY_SORTS) {
    for (const order of ['asc', 'desc']) {
      for (const filter of FILTERS) {
        const base = `${server.url}/api/v1/access-keys?sort=${sort}&order=${order}&limit=50${filter.query === '' ? '' : `&${filter.query}`}`;
        const times: number[] = [];
        let cursor: string | null = null;
        let deepest = 0;
        let page = 0;
        // One unmeasured request first: the plan and the pages it reads are then warm, as in use.
        await timed(base, { headers });
        const caseStarted = performance.now();
        // A case slower than its budget (a full scan) stops after 3 samples: the run stays bounded.
        while (times.length < S.listSamples && (times.length < 3 || performance.now() - caseStarted < 5_000)) {
          const res = await timed(cursor === null ? base : `${base}&cursor=${encodeURIComponent(cursor)}`, { headers });
          if (res.status !== 200) throw new Error(`list ${base} answered ${res.status}: ${res.body.slice(0, 300)}`);
          times.push(res.ms);
          cursor = (JSON.parse(res.body) as { nextCursor: string | null }).nextCursor;
          page++;
          deepest = Math.max(deepest, page);
          if (cursor === null) page = 0;
        }
        cases.push({
          sort,
          order,
          filter: filter.label,
          p50: percentile(times, 50),
          p95: percentile(times, 95),
          max: Math.max(...times),
          samples: times.length,
          pages: deepest,
        });
      }
    }
  }
  return cases;
}

async function createLatencies(server: Served<object>, adminToken: string, tag: string): Promise<{ p50: number; p95: number; max: number; samples: number }> {
  const times: number[] = [];
  for (let i = 0; i < S.creates; i++) {
    const res = await timed(`${server.url}/api/v1/access-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `bench-create-${tag}-${i}`, roles: [{ role: 'global-viewer' }] }),
    });
    if (res.status !== 201) throw new Error(`create answered ${res.status}: ${res.body.slice(0, 300)}`);
    times.push(res.ms);
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times), samples: times.length };
}

async function creationRate(server: Served<object>, adminToken: string, tag: string): Promise<LoadResult> {
  let n = 0;
  return load({
    url: `${server.url}/api/v1/access-keys`,
    seconds: S.rateSeconds,
    connections: 10,
    token: adminToken,
    method: 'POST',
    body: () => JSON.stringify({ name: `bench-rate-${tag}-${n++}`, roles: [{ role: 'global-viewer' }] }),
  });
}

/** `tessera serve` (the real CLI) from spawn to the first 200 of /healthz, ms. */
async function startupTimes(dataset: Dataset): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin/tessera.js'), 'serve'], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '/tmp',
        ...dataset.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        TESSERA_ADMIN_EMAIL: 'admin@bench.test',
        TESSERA_ADMIN_PASSWORD: 'bench-password-123',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`tessera serve exited with ${child.exitCode}: ${stderr}`);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`);
          if (res.status === 200) break;
        } catch {
          // not listening yet
        }
        if (performance.now() - started > 60_000) throw new Error('tessera serve did not start within 60 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      times.push(performance.now() - started);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }
  return times;
}

/** A server's counters from /metrics that explain a slow warm path: changes heard from other processes, and cache misses. */
async function warmPathCounters(server: Served<object>): Promise<Record<'changesApplied' | 'tokenMisses' | 'stateMisses' | 'pageHits' | 'pageMisses', number>> {
  const res = await timed(`${server.url}/metrics`, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const value = (pattern: string) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(res.body)?.[1] ?? Number.NaN);
  return {
    changesApplied: value('tessera_changes_applied_total'),
    tokenMisses: value('tessera_access_key_cache_lookups_total\\{cache="token",result="miss"\\}'),
    stateMisses: value('tessera_access_key_cache_lookups_total\\{cache="state",result="miss"\\}'),
    pageHits: value('tessera_read_cache_lookups_total\\{cache="cloud-account-pages",result="hit"\\}'),
    pageMisses: value('tessera_read_cache_lookups_total\\{cache="cloud-account-pages",result="miss"\\}'),
  };
}

const countersSince = <K extends string>(before: Record<K, number>, after: Record<K, number>): Record<K, number> =>
  Object.fromEntries(Object.keys(after).map((k) => [k, after[k as K] - before[k as K]])) as Record<K, number>;

async function scale(dialect: 'sqlite' | 'postgres') {
  log(`scale (${dialect}): 1,000 keys, 100 accounts, ${fmt(S.assets)} assets`);
  const small = await makeDataset(dialect, { keys: 1_000, accounts: 100, assets: S.assets, tokenPool: 0 }, PG_URL);
  log(`scale (${dialect}): ${fmt(S.scaleKeys)} keys, 100 accounts, ${fmt(S.assets)} assets, ${fmt(S.scalePool)} real tokens`);
  const big = await makeDataset(dialect, { keys: S.scaleKeys, accounts: 100, assets: S.assets, tokenPool: S.scalePool }, PG_URL);
  const servers: Served<object>[] = [];
  const stop = async (server: Served<object>) => {
    servers.splice(servers.indexOf(server), 1);
    await server.stop();
  };
  try {
    const label = { small: '1,000 keys', big: `${fmt(S.scaleKeys)} keys` };
    const { runs, counters } = await alternatingRounds(`scale (${dialect}) (b)`, () =>
      startRound(async (started) => {
        const targets: Target[] = [];
        for (const [id, dataset] of [
          ['small', small],
          ['big', big],
        ] as const) {
          const server = started(await tesseraServer(dataset, 'auth'));
          targets.push({ id, title: `(b) at ${label[id]}`, server, origin: server.url, path: LIST, token: dataset.keys.viewer, tessera: true });
        }
        return targets;
      }),
    );
    const throughput = { small: runs['small']!, big: runs['big']! };
    const warmPath = { small: counters['small']!, big: counters['big']! };
    log(
      `scale (${dialect}): during the (b) rounds, changes applied / token cache misses / state cache misses / page cache hits / page cache misses: 1,000 keys ${Object.values(warmPath.small).join(' / ')}; ${fmt(S.scaleKeys)} keys ${Object.values(warmPath.big).join(' / ')}`,
    );
    const bigServer = await tesseraServer(big, 'auth');
    servers.push(bigServer);
    // The list and create cases read pages all over a million keys. This machine pages out file
    // pages idle for a minute (proactiveReclaim), and reads one back from disk in ~1.5 ms: read
    // the database into memory first, as a server in use holds it.
    const warmed = await big.warm();
    log(`scale (${dialect}): database read into memory: ${'mb' in warmed ? `${fmt(Math.round(warmed.mb))} MB` : warmed.skipped}`);
    log(`scale (${dialect}): list latencies, ${ACCESS_KEY_SORTS.length * 2 * FILTERS.length} sort/order/filter cases`);
    const list = await listLatencies(bigServer, big.keys.admin);
    log(`scale (${dialect}): create latency and creation rate`);
    const create = await createLatencies(bigServer, big.keys.admin, dialect);
    const rate = await creationRate(bigServer, big.keys.admin, dialect);
    log(`scale (${dialect}): cold pool through the server (fills the bounded caches), then memory`);
    const poolRun = await load({ url: bigServer.url + LIST, seconds: S.seconds, connections: CONNECTIONS, tokens: big.keys.pool });
    const memory = bigServer.memory();
    await stop(bigServer);
    log(`scale (${dialect}): start-up time of tessera serve`);
    const startup = await startupTimes(big);
    return { dialect, keys: S.scaleKeys, generate: big.report, throughput, warmPath, warmed, list, create, rate, poolRun, memory, startup };
  } finally {
    for (const s of servers) await s.stop();
    await small.drop();
    await big.drop();
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * The console with 10,000 keys in Chromium: the e2e suite's bench mode (`npm run test:e2e:bench`,
 * performance marks set by the page), run first, before the cores are pinned (the browser, the
 * server and the test runner share the machine as a user's would). Needs /usr/bin/chromium.
 */
function consoleBench():
  | {
      fullLoadMs: { median: number; all: number[] };
      menuNavigationMs: { median: number; all: number[] };
      sortOrPageMs: { median: number; all: number[] };
      listRequests: number;
      largestPageRequested: number;
    }
  | { skipped: string } {
  if (!existsSync('/usr/bin/chromium')) return { skipped: 'no Chromium at /usr/bin/chromium' };
  log('console: the API Access Keys page with 10,000 keys in Chromium (npm run test:e2e:bench)');
  const out = join(ROOT, 'test-results/console-bench.json');
  rmSync(out, { force: true });
  const run = spawnSync('npm', ['run', 'test:e2e:bench'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  if (run.status !== 0 || !existsSync(out)) return { skipped: `npm run test:e2e:bench failed (exit ${run.status}): ${(run.stdout + run.stderr).slice(-400)}` };
  return JSON.parse(readFileSync(out, 'utf8'));
}

/** The scale part's list latencies alone, per dialect: to measure a change to the list quickly. */
async function listOnly(dialect: 'sqlite' | 'postgres'): Promise<void> {
  log(`list (${dialect}): ${fmt(S.scaleKeys)} keys, 100 accounts`);
  const big = await makeDataset(dialect, { keys: S.scaleKeys, accounts: 100, assets: 0, tokenPool: 0 }, PG_URL);
  const server = await tesseraServer(big, 'auth');
  try {
    const warmed = await big.warm();
    log(`list (${dialect}): database read into memory: ${'mb' in warmed ? `${fmt(Math.round(warmed.mb))} MB` : warmed.skipped}`);
    for (const c of await listLatencies(server, big.keys.admin)) process.stdout.write(`${JSON.stringify({ dialect, keys: S.scaleKeys, ...c })}\n`);
  } finally {
    await server.stop();
    await big.drop();
  }
}

/** The median throughput and server CPU per request of each target's rounds. */
const mediansOf = (runs: Record<string, MeasuredLoad[]>) =>
  Object.fromEntries(Object.entries(runs).map(([id, r]) => [id, { rps: median(r.map((x) => x.rps)), cpuUsPerRequest: median(r.map((x) => x.cpuUsPerRequest)) }]));

/**
 * The framework tax alone: (a), (b) and (f) in alternating rounds on new processes, then the
 * profile of (b); printed as JSON lines. To measure a change to the warm path quickly.
 */
async function taxOnly(): Promise<void> {
  pinCores();
  const base = await makeDataset('sqlite', { keys: 100, accounts: 50, assets: 0, tokenPool: 0 }, PG_URL);
  try {
    const { runs } = await alternatingRounds('tax', () =>
      startRound(async (started) => {
        const auth = started(await tesseraServer(base.copy(), 'auth', true));
        return taxTargets(auth, started(await plainServer(auth, base.keys)), base.keys);
      }),
    );
    const medians = mediansOf(runs);
    process.stdout.write(`${JSON.stringify({ medians, 'b/f': medians['b']!.rps / medians['f']!.rps, 'b/a': medians['b']!.rps / medians['a']!.rps })}\n`);
    process.stdout.write(`${JSON.stringify({ profile: await profileWarmPath(base) })}\n`);
  } finally {
    await base.drop();
  }
}

/**
 * The cold path alone: (d) and its reference, with the app without authentication of the
 * process that serves both, in alternating rounds on new processes, then a profile of the cold server
 * (its raw profile kept in bench/cold.cpuprofile, ignored by git); printed as JSON lines. To
 * measure a change to the cold path quickly.
 */
async function coldOnly(): Promise<void> {
  pinCores();
  const base = await makeDataset('sqlite', { keys: S.pool, accounts: 50, assets: 0, tokenPool: S.pool }, PG_URL);
  try {
    let account = '';
    const { runs } = await alternatingRounds('cold', () =>
      startRound(async (started) => {
        const cold = started(await tesseraServer(base.copy(), 'cold', true));
        account = await firstAccountPath(cold);
        return coldTargets(cold, base.keys, account);
      }),
    );
    const medians = mediansOf(runs);
    const cpu = (id: string) => medians[id]!.cpuUsPerRequest;
    const added = { tessera: cpu('tessera-cold') - cpu('tessera-cold-off'), reference: cpu('reference') - cpu('tessera-cold-off') };
    process.stdout.write(`${JSON.stringify({ medians, added, 'tessera/reference': added.tessera / added.reference })}\n`);
    const profile = await profileOf(base, { name: '(d)', mode: 'cold', path: account, tokens: base.keys.pool, flush: true }, join(ROOT, 'bench/cold.cpuprofile'));
    process.stdout.write(`${JSON.stringify({ profile })}\n`);
  } finally {
    await base.drop();
  }
}

if (args.only !== undefined) {
  if (args.only === 'tax') await taxOnly();
  else if (args.only === 'cold') await coldOnly();
  else if (args.only === 'list') {
    await listOnly('sqlite');
    if (!args['no-postgres']) await listOnly('postgres');
  } else throw new TypeError(`--only takes "list", "tax" or "cold", not "${args.only}"`);
  process.exit(0);
}

const consoleResult = consoleBench();

/**
 * Whether the kernel proactively pages out memory it sees idle (DAMON's `pageout` action, as
 * some virtual machines run it): the page cache of a database idle for a few seconds is then
 * dropped and read from disk again on its next use, which moves every figure that reads a
 * large database. Undefined when this kernel shows no DAMON.
 */
function proactiveReclaim(): { on: boolean; minAgeIntervals?: number } | undefined {
  const kdamonds = '/sys/kernel/mm/damon/admin/kdamonds';
  if (!existsSync(kdamonds)) return undefined;
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim() : '');
  for (const k of readdirSync(kdamonds).filter((d) => /^\d+$/.test(d))) {
    const schemes = join(kdamonds, k, 'contexts/0/schemes');
    if (read(join(kdamonds, k, 'state')) !== 'on' || !existsSync(schemes)) continue;
    for (const s of readdirSync(schemes).filter((d) => /^\d+$/.test(d))) {
      if (read(join(schemes, s, 'action')) === 'pageout') return { on: true, minAgeIntervals: Number(read(join(schemes, s, 'access_pattern/age/min'))) };
    }
  }
  return { on: false };
}

const pinned = pinCores();
const machine = {
  pinned,
  proactiveReclaim: proactiveReclaim(),
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  os: `${platform()} ${release()} ${arch()}`,
  node: process.version,
  loadAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  versions: Object.fromEntries(
    ['fastify', 'jose', 'kysely', 'better-sqlite3', 'pg', 'better-auth', '@better-auth/api-key', '@fastify/jwt', 'fast-jwt', 'autocannon'].map((p) => [p, versionOf(p)]),
  ),
  tessera: (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
};
log(`${quick ? 'quick' : 'full'} run on ${machine.cpu} × ${machine.cores}, load ${machine.loadAtStart.join(' ')}`);

const compared = await comparison();
const dialects: Array<'sqlite' | 'postgres'> = ['sqlite'];
let postgresNote = '';
if (args['no-postgres']) postgresNote = 'PostgreSQL skipped (--no-postgres).';
else if (await postgresReachable(PG_URL)) dialects.push('postgres');
else postgresNote = `PostgreSQL skipped: nothing answered at ${PG_URL.replace(/\/\/[^@]*@/, '//')}.`;
const scaled = [];
for (const dialect of dialects) scaled.push(await scale(dialect));
const results = {
  quick,
  settings: S,
  machine,
  seconds: (performance.now() - runStarted) / 1000,
  loadAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
  console: consoleResult,
  compared,
  scaled,
  postgresNote,
};
writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 1)}\n`);
const { renderReport } = await import('./lib/report.ts');
writeFileSync(args.out, renderReport(results));
log(`done in ${(results.seconds / 60).toFixed(1)} min: ${args.out}`);

export type BenchResults = typeof results;
