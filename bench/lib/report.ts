import type { BenchResults } from '../run.ts';
import { fmt } from './progress.ts';
import { median } from './measure.ts';

/** (b) answers at least this share of the requests plain Fastify (f) answers with the same bytes. */
const TAX_TARGET = 0.7;

/** The connections every load run of the comparison keeps open (results of earlier benchmarks did not record it). */
const CONNECTIONS_DEFAULT = 50;

/** The warm targets: Tessera's warm authentication adds at most 1/share of what each peer's adds. */
const WARM_SHARES = [
  { peer: 'fastify-jwt', share: 20 },
  { peer: 'better-auth', share: 100 },
] as const;

const n0 = (v: number) => fmt(Math.round(v));
const n1 = (v: number) => v.toFixed(1);
const n2 = (v: number) => v.toFixed(2);
const mark = (ok: boolean) => (ok ? 'met' : '**missed**');

function med<K extends string>(runs: ReadonlyArray<Record<K, number>>, field: K): number {
  return median(runs.map((r) => r[field]));
}

/** `part` µs as a share of `whole` µs: "1/N of it", "N× it", or that there is no part to compare. */
function shareOf(part: number, whole: number): string {
  if (part <= 0) return 'no measurable cost: the authenticated server used no more CPU than the one without authentication';
  return part >= whole ? `${n2(part / whole)}× it` : `1/${n0(whole / part)} of it`;
}

type Runs = ReadonlyArray<{ rps: number; cpuUsPerRequest: number; requests: number }>;

/** The largest ratio between the fastest and the slowest round of one target, and which target. */
function widestSpread(runs: Record<string, Runs>): { id: string; ratio: number } {
  let widest = { id: '', ratio: 1 };
  for (const [id, rounds] of Object.entries(runs)) {
    const rps = rounds.map((x) => x.rps);
    const ratio = Math.max(...rps) / Math.min(...rps);
    if (ratio > widest.ratio) widest = { id, ratio };
  }
  return widest;
}

/** bench/REPORT.md from the results of one run. */
export function renderReport(r: BenchResults): string {
  const out: string[] = [];
  const { compared } = r;
  const CONNECTIONS = 'connections' in compared ? compared.connections : CONNECTIONS_DEFAULT;
  const rps = (id: string) => med(compared.runs[id]!, 'rps');
  const p99 = (id: string) => med(compared.runs[id]!, 'p99');
  const a = rps('a');
  const b = rps('b');
  const c = rps('c');
  const ba = rps('better-auth');
  const fj = rps('fastify-jwt');
  const base = compared.baseline;
  const cold = coldAgainstReference(r);
  const targets: Array<[string, string, string, boolean]> = [
    ['(b)/(a) throughput', '≥ 0.95', n2(b / a), b / a >= 0.95],
    ['(c)/(a) throughput', '≥ 0.90', n2(c / a), c / a >= 0.9],
    ...(compared.runs['f'] === undefined
      ? []
      : [
          [
            "(b)/(f) throughput: Tessera's warm list against plain Fastify 5 sending its bytes, default log level",
            `≥ ${n2(TAX_TARGET)}`,
            `${n2(b / rps('f'))}${b / rps('f') >= TAX_TARGET ? '' : `: (b) would need ${n0(TAX_TARGET * rps('f'))} req/s, ${n0(TAX_TARGET * rps('f') - b)} more`}`,
            b / rps('f') >= TAX_TARGET,
          ] as [string, string, string, boolean],
        ]),
    [`added p99 latency (b) − (a), ${CONNECTIONS} connections`, '≤ 0.2 ms', `${n2(p99('b') - p99('a'))} ms`, p99('b') - p99('a') <= 0.2],
    [`added p99 latency (c) − (a), ${CONNECTIONS} connections`, '≤ 0.2 ms', `${n2(p99('c') - p99('a'))} ms`, p99('c') - p99('a') <= 0.2],
    [
      '(d) added server CPU per request vs its reference (raw Ed25519 verify + one indexed lookup), both over HTTP',
      `≤ 1.3 × ${n1(cold.reference)} µs = ${n1(1.3 * cold.reference)} µs`,
      `${n1(cold.tessera)} µs (${n2(cold.tessera / cold.reference)}×; in the benchmark process, without HTTP: ${n2(base.coldAuthUs / base.rawVerifyLookupUs)}×)`,
      cold.tessera <= 1.3 * cold.reference,
    ],
  ];
  const cost = authenticationCost(r);
  if (cost !== undefined) {
    const tessera = cost.of('tessera');
    const where = `on \`GET ${cost.route}\``;
    for (const { peer, share: allowance } of WARM_SHARES) {
      const other = cost.of(peer);
      const limit = other.warm / allowance;
      targets.push([
        `Tessera's warm authentication: server CPU it adds per request (authenticated − authentication off, ${where}), against ${other.title}'s`,
        `≤ 1/${allowance} of ${n1(other.warm)} µs = ${n2(limit)} µs`,
        `${n2(tessera.warm)} µs (${shareOf(tessera.warm, other.warm)})${tessera.warm <= limit ? '' : `: over by ${n2(tessera.warm - limit)} µs, ${n1(tessera.warm / limit)}× the allowance`}`,
        tessera.warm <= limit,
      ]);
    }
    for (const peer of ['fastify-jwt', 'better-auth'] as const) {
      const other = cost.of(peer);
      targets.push([
        `Tessera's cold authentication (a key not in its caches): server CPU it adds per request, against ${other.title}'s cold (a different credential on each request)`,
        `< ${n1(other.cold)} µs`,
        `${n1(tessera.cold)} µs (${n2(tessera.cold / other.cold)}×)${tessera.cold < other.cold ? '' : `: over by ${n1(tessera.cold - other.cold)} µs`}`,
        tessera.cold < other.cold,
      ]);
    }
  }
  const consoleRun = r.console;
  targets.push(
    'skipped' in consoleRun
      ? ['console: API Access Keys page with 10,000 keys rendered in Chromium', '< 1 s', `not measured: ${consoleRun.skipped}`, false]
      : [
          'console: API Access Keys page with 10,000 keys rendered in Chromium (median full load)',
          '< 1 s',
          `${n0(consoleRun.fullLoadMs.median)} ms (from the main menu ${n0(consoleRun.menuNavigationMs.median)} ms); largest page asked for: ${consoleRun.largestPageRequested} keys`,
          consoleRun.fullLoadMs.median < 1000 && consoleRun.menuNavigationMs.median < 1000 && consoleRun.largestPageRequested <= 200,
        ],
  );
  for (const s of r.scaled) {
    const worst = s.list.reduce((w, x) => (x.p95 > w.p95 ? x : w));
    const bSmall = median(s.throughput.small.map((x) => x.rps));
    const bBig = median(s.throughput.big.map((x) => x.rps));
    const createRate = s.rate.rps;
    const startup = median(s.startup);
    const D = s.dialect;
    targets.push(
      [
        `${D}: access-keys list p95 at ${fmt(s.keys)} keys, all ${s.list.length} sort/order/filter cases`,
        '< 20 ms',
        `${s.list.filter((x) => x.p95 < 20).length} of ${s.list.length} cases under 20 ms; worst ${n1(worst.p95)} ms (${worst.sort} ${worst.order}, ${worst.filter})`,
        worst.p95 < 20,
      ],
      [`${D}: create p95`, '< 10 ms', `${n1(s.create.p95)} ms`, s.create.p95 < 10],
      [`${D}: (b) at ${fmt(s.keys)} keys vs at 1,000 keys`, 'within 5%', `${n0(bBig)} vs ${n0(bSmall)} req/s (${n1((bBig / bSmall - 1) * 100)}%)`, bBig >= 0.95 * bSmall],
      [`${D}: start-up (tessera serve to first /healthz 200)`, '< 3 s', `${n2(startup / 1000)} s`, startup < 3000],
      [`${D}: server RSS after all its runs (peak)`, '< 400 MB', `${n0(s.memory.rssMb)} MB (peak ${n0(s.memory.peakMb)} MB)`, s.memory.peakMb < 400],
    );
    if (D === 'sqlite') targets.push([`${D}: key creation rate (POST, 10 connections)`, '≥ 2,000/s', `${n0(createRate)}/s`, createRate >= 2000]);
    else targets.push([`${D}: key creation rate (POST, 10 connections; the target is for SQLite)`, '(≥ 2,000/s on SQLite)', `${n0(createRate)}/s`, true]);
  }

  out.push('# Tessera benchmark report', '');
  out.push(
    `Written by \`npm run bench${r.quick ? ' -- --quick' : ''}\` (${r.quick ? 'quick mode: short rounds, smaller data' : 'full run'}) in ${n1(r.seconds / 60)} minutes. Raw numbers: [results.json](results.json).`,
    '',
  );
  out.push('## Machine', '');
  out.push(`- ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB; ${r.machine.os}; Node ${r.machine.node}`);
  out.push(
    `- load average (1, 5, 15 minutes) at start ${r.machine.loadAtStart.join(' / ')}, at end ${r.loadAtEnd.join(' / ')}; every round records the one-minute load in results.json`,
  );
  out.push(
    r.machine.pinned === undefined
      ? '- cores not pinned (`taskset` missing or one core): servers and autocannon share every core'
      : `- cores pinned with \`taskset\`: the benchmark process (autocannon) on core ${r.machine.pinned.client}, every server on core ${r.machine.pinned.servers}, so each target is measured under the same split (PostgreSQL itself is not pinned)`,
  );
  const yardstick = machineYardstick(r);
  if (yardstick !== undefined) out.push(yardstick);
  if (r.machine.proactiveReclaim?.on === true) {
    out.push(
      `- the kernel proactively pages out memory it sees idle (DAMON \`pageout\`, regions idle for ${r.machine.proactiveReclaim.minAgeIntervals ?? '?'} aggregation intervals): a database's file pages left unused that long are dropped and read from disk again when next used. The scale runs read the database into memory before their list and create cases (a server in use holds it); the throughput rounds and start-up run on whatever the kernel kept`,
    );
  }
  out.push(
    `- Tessera ${r.machine.tessera}; ${Object.entries(r.machine.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
  );

  out.push('## Targets', '', '| target | goal | measured | |', '| --- | --- | --- | --- |');
  for (const [what, goal, got, ok] of targets) out.push(`| ${what} | ${goal} | ${got} | ${mark(ok)} |`);
  out.push('');

  const listTargets = compared.targets.filter((t) => !('route' in t) || t.route === 'list');
  const spread = widestSpread(compared.runs);
  out.push('## (a)–(c), (e): the cached list route, alternating rounds', '');
  out.push(
    `\`GET /api/v1/cloud-accounts\` (first page, 50 accounts; 1 for (c)), autocannon, ${CONNECTIONS} connections, ${r.settings.rounds} rounds of ${r.settings.seconds} s per target${slicing(r)}, each round on new server processes, each warmed up for ${r.settings.warmup} s; each round starts at the next target. Every server is its own process on the same machine as autocannon (${'authenticationCost' in compared ? "(a) is an app without authentication in (b)'s process" : '(a) included'}); ${'profile' in compared ? "Tessera logs as shipped, one line per request at the default level (written to /dev/null: pino's cost up to the write), where the peers and (f) log nothing" : 'Tessera without a log line per request (the peers log nothing)'}. Latency percentiles are over each 2xx answer's own time, request sent to response complete, as autocannon times it. Medians of the rounds:`,
    '',
  );
  out.push(
    '| target | items | median req/s | p50 ms | p99 ms | vs (a) | server CPU µs/request | rounds (req/s) | non-2xx |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  const tableRow = (t: (typeof compared.targets)[number]) => {
    const runs = compared.runs[t.id]!;
    return `| ${t.title} | ${t.items} | ${n0(med(runs, 'rps'))} | ${n2(med(runs, 'p50'))} | ${n2(med(runs, 'p99'))} | ${n2(med(runs, 'rps') / a)} | ${n0(med(runs, 'cpuUsPerRequest'))} | ${runs.map((x) => n0(x.rps)).join(', ')} | ${runs.reduce((s, x) => s + x.non2xx + x.errors, 0)} |`;
  };
  for (const t of listTargets) out.push(tableRow(t));
  out.push('');
  out.push(
    `Server CPU per request is the server process's own CPU time (user + system, all its threads, from /proc) over a round divided by the requests it answered: the median of the rounds. Throughput also moves when a server is kept off its core by other work; this figure moves only when a request costs more. The rounds of one target differ by up to ${n2(spread.ratio)}× in throughput (${spread.id}), which is why each round starts new processes and the figures are medians.`,
    '',
  );
  out.push(`Ratios: (b)/(a) ${n2(b / a)}, (c)/(a) ${n2(c / a)}.`, '');
  out.push(
    `On this cached route, (b) answers ${n2(b / ba)}× the requests of better-auth and ${n2(b / fj)}× those of Fastify + @fastify/jwt + SQL. ${pageCacheSentence(r)} The peers keep no answer and read SQL on every request, so these two ratios measure the page cache as much as authentication${cost === undefined ? '' : '; what authentication costs is measured apart, below'}.`,
    '',
  );
  out.push(
    'Server memory after the last round (RSS / peak, MB; those processes served one round): ' +
      listTargets.map((t) => `${t.id} ${n0(compared.memory[t.id]!.rssMb)} / ${n0(compared.memory[t.id]!.peakMb)}`).join(', ') +
      '.',
    '',
  );

  if ('profile' in compared && compared.runs['f'] !== undefined) out.push(...taxSection(r));
  if (cost !== undefined) out.push(...authenticationSection(r, cost));

  out.push('### The cold path (d) against its reference', '');
  out.push(
    `${cold.where}: a cold authentication (signature and every pinned claim, the key read by id, the constant-time hash compare, the caches filled, the usage count and its batched write) adds ${n1(cold.tessera)} µs of server CPU per request; the reference (an app of the same process with, in the authenticator's place, a raw node:crypto Ed25519 verification of the token and one prepared better-sqlite3 lookup of its key by primary key, nothing else checked) adds ${n1(cold.reference)} µs: ${n2(cold.tessera / cold.reference)}×. In the benchmark process, without HTTP, over the same tokens (table below), the cold authentication costs ${n1(base.coldAuthUs)} µs per request and the reference's verification and lookup ${n1(base.rawVerifyLookupUs)} µs: ${n2(base.coldAuthUs / base.rawVerifyLookupUs)}× (wall time, which other work on the machine lengthens).`,
    '',
  );
  out.push('For the record, per-operation costs measured in the benchmark process on the same pool of tokens (interleaved passes, best of 7):', '');
  out.push('| operation | µs |', '| --- | --- |');
  out.push(`| raw Ed25519 verification (node:crypto) + key lookup by primary key (better-sqlite3, prepared): the reference | ${n1(base.rawVerifyLookupUs)} |`);
  out.push(`| raw Ed25519 verification alone | ${n1(base.rawVerifyUs)} |`);
  out.push(`| key lookup alone | ${n1(base.lookupUs)} |`);
  out.push(`| Tessera's TokenService.verify (all pinned checks, node:crypto) | ${n1(base.tesseraVerifyUs)} |`);
  out.push(`| jose jwtVerify with the same pinned options (WebCrypto), for comparison | ${n1(base.joseVerifyUs)} |`);
  out.push(
    `| a cold authentication as the (d) server runs it (SQLite change check + an authenticator with caches of one: signature and claims, key read, hash compare, usage count) | ${n1(base.coldAuthUs)} |`,
  );
  out.push(
    `| a warm authentication as the access-control hook runs it (SQLite change check + authenticator: header, caches, expiry, usage count) | ${n1(base.warmAuthUs)} |`,
  );
  out.push('');

  if (!('skipped' in consoleRun)) {
    out.push('## The console with 10,000 keys', '');
    out.push(
      `\`npm run test:e2e:bench\`: Chromium (Debian's, headless) on the built console, 10,000 keys, times from the page's own performance marks (\`access-keys:rendered\` when the first page of rows is on screen). Full page load, navigation start to rows: ${consoleRun.fullLoadMs.all.join(', ')} ms (median ${n0(consoleRun.fullLoadMs.median)}). From a click in the main menu: ${consoleRun.menuNavigationMs.all.join(', ')} ms (median ${n0(consoleRun.menuNavigationMs.median)}). A re-sort or the next page, click to the new first row painted: ${consoleRun.sortOrPageMs.all.join(', ')} ms. ${consoleRun.listRequests} list requests, none for more than ${consoleRun.largestPageRequested} keys${consoleRun.largestPageRequested < 10_000 ? ': the page never fetched the whole table' : ''}.`,
      '',
    );
  }

  for (const s of r.scaled) {
    out.push(`## Scale on ${s.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'}: ${fmt(s.keys)} keys, 100 accounts, ${fmt(r.settings.assets)} assets`, '');
    out.push(
      `- Generated ${fmt(s.generate.keysAdded)} keys by bulk insert at ${n0(s.generate.keysPerSecond)} keys/s (prepared statements in transactions of 5,000), created one after another over 700 days as a real database holds them (rows in creation order, each id a UUIDv7 of its creation time; the rest of the ${fmt(s.keys)} are the ${fmt(r.settings.scalePool)} keys with real tokens and the benchmark's own), ${fmt(s.generate.assetsAdded)} assets; ${n1(s.generate.seconds)} s in all.`,
    );
    const bSmall = s.throughput.small.map((x) => x.rps);
    const bBig = s.throughput.big.map((x) => x.rps);
    out.push(
      `- (b) throughput, alternating${slicing(r)}, new server processes every round: at 1,000 keys ${bSmall.map(n0).join(', ')} req/s (median ${n0(median(bSmall))}); at ${fmt(s.keys)} keys ${bBig.map(n0).join(', ')} (median ${n0(median(bBig))}). Server CPU per request (median): ${n0(med(s.throughput.small, 'cpuUsPerRequest'))} µs at 1,000 keys, ${n0(med(s.throughput.big, 'cpuUsPerRequest'))} µs at ${fmt(s.keys)}. During these rounds (from each server's /metrics): ${warmPathSentence(s.warmPath.small, s.throughput.small, '1,000 keys')}; ${warmPathSentence(s.warmPath.big, s.throughput.big, `${fmt(s.keys)} keys`)}.`,
    );
    out.push(
      `- Create (POST /api/v1/access-keys, one at a time, ${s.create.samples} keys): p50 ${n2(s.create.p50)} ms, p95 ${n2(s.create.p95)} ms, max ${n2(s.create.max)} ms.`,
    );
    out.push(`- Creation rate (POST, 10 connections, ${r.settings.rateSeconds} s): ${n0(s.rate.rps)} keys/s, p99 ${n2(s.rate.p99)} ms, non-2xx ${s.rate.non2xx}.`);
    out.push(
      `- Start-up, \`tessera serve\` from spawn to the first 200 of /healthz, ${s.startup.length} starts: ${s.startup.map((t) => `${n2(t / 1000)} s`).join(', ')}.`,
    );
    out.push(
      `- Memory of the ${fmt(s.keys)}-key server (a new process after the throughput rounds) after its list and create runs and ${fmt(s.poolRun.requests)} requests with ${fmt(r.settings.scalePool)} different keys (${n0(s.poolRun.rps)} req/s, filling the bounded caches): RSS ${n0(s.memory.rssMb)} MB, peak ${n0(s.memory.peakMb)} MB.`,
    );
    out.push('');
    const warmed =
      'mb' in s.warmed
        ? `with the database read into memory first (${n0(s.warmed.mb)} MB: ${s.dialect === 'sqlite' ? 'the file' : "pg_prewarm 'read' of every table and index"}), as a server in use holds it`
        : `without reading the database into memory first (${s.warmed.skipped})`;
    out.push(
      `Access-keys list latency, \`limit=50\`, one request at a time, ${s.list[0]?.samples ?? 0} pages per case following \`nextCursor\`, ${warmed}; the create figures follow right after (ms):`,
      '',
    );
    out.push('| sort | order | filter | p50 | p95 | max | pages walked |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const x of s.list) out.push(`| ${x.sort} | ${x.order} | ${x.filter} | ${n2(x.p50)} | ${n2(x.p95)} | ${n2(x.max)} | ${x.pages} |`);
    out.push('');
  }
  if (r.postgresNote !== '') out.push(r.postgresNote, '');

  out.push('## What the numbers say', '');
  out.push(
    `- **Noise.** The one-minute load average was ${r.machine.loadAtStart[0]} at the start and ${r.loadAtEnd[0]} at the end, on ${r.machine.cores} cores; the rounds of one target differ by up to ${n2(spread.ratio)}× in throughput (${spread.id}). Ratios are of medians; one near its threshold is inside that spread.`,
  );
  if (cost !== undefined) {
    const tessera = cost.of('tessera');
    const offCpu = cost.of('tessera').offCpu;
    out.push(
      `- **What authentication costs**, server CPU per request on \`GET ${cost.route}\`: ${cost.systems.map((x) => `${x.title} ${n1(x.warm)} µs warm, ${n1(x.cold)} µs cold`).join('; ')}. Tessera's warm figure over HTTP is ${n1(tessera.warm)} µs; in the benchmark process, without HTTP, the warm authentication with its change check costs ${n1(base.warmAuthUs)} µs.`,
      `- **The page cache.** With authentication off, Tessera's cached list (a) costs ${n0(med(compared.runs['a']!, 'cpuUsPerRequest'))} µs of server CPU per request, and its uncached one-account route ${n0(offCpu)} µs.`,
    );
  }
  out.push(
    `- **The cold path** verifies a token in ${n1(base.tesseraVerifyUs)} µs with every pinned check (jose's WebCrypto path: ${n1(base.joseVerifyUs)} µs); with its key read, hash compare and usage count, a cold authentication costs ${n1(base.coldAuthUs)} µs in the benchmark process, against ${n1(base.rawVerifyLookupUs)} µs for a raw verification and lookup.`,
  );
  for (const s of r.scaled) {
    const slow = s.list.filter((x) => x.p95 >= 20);
    out.push(
      slow.length === 0
        ? `- **The list on ${s.dialect}** kept every one of its ${s.list.length} cases under 20 ms at p95 at ${fmt(s.keys)} keys.`
        : `- **The list on ${s.dialect}**: ${slow.length} of ${s.list.length} cases at or over 20 ms at p95 at ${fmt(s.keys)} keys: ${slow.map((x) => `${x.sort} ${x.order} with ${x.filter} (${n1(x.p95)} ms)`).join('; ')}.`,
    );
  }
  out.push('');
  out.push('## How to run', '');
  out.push(
    `\`npm run bench\` (this ${r.quick ? 'quick ' : ''}run took ${n1(r.seconds / 60)} minutes on ${r.machine.cores} cores) or \`npm run bench -- --quick\`; \`npm run bench:generate -- --keys 1000000\` fills the configured database (\`TESSERA_DATA_DIR\` or \`DATABASE_URL\`) for manual runs. The benchmark never runs as part of \`npm test\`.`,
    '',
  );
  return `${out.join('\n')}\n`;
}

type CacheCounts = { changesApplied: number; tokenMisses: number; stateMisses: number; pageHits?: number; pageMisses: number };

/** What the warm-path counters of a set of (b) rounds say, with the requests those rounds answered. */
function warmPathSentence(counts: CacheCounts, runs: Runs, label: string): string {
  const requests = runs.reduce((sum, x) => sum + x.requests, 0);
  const misses = counts.tokenMisses + counts.stateMisses + counts.pageMisses;
  const detail = `${n0(counts.changesApplied)} changes heard from other processes, ${n0(counts.tokenMisses)} verified-token cache misses, ${n0(counts.stateMisses)} key-state cache misses, ${n0(counts.pageMisses)} page cache misses over ${fmt(requests)} requests`;
  return `at ${label}, ${detail}${misses === 0 && counts.changesApplied === 0 ? ' (every request answered warm)' : ''}`;
}

/** How (b)'s list requests were answered, from the page-cache counters read around its runs. */
function pageCacheSentence(r: BenchResults): string {
  const counted = 'counters' in r.compared ? r.compared.counters['b'] : undefined;
  if (counted === undefined) return 'Page cache lookups were not counted in this run.';
  const lookups = counted.pageHits + counted.pageMisses;
  return `Of the ${fmt(lookups)} list requests (b) answered, ${fmt(counted.pageHits)} came from Tessera's page cache (${fmt(counted.pageMisses)} misses).`;
}

interface SystemCost {
  system: string;
  title: string;
  /** Median server CPU per request, µs: authentication off, warm, off in the cold server's process, cold. */
  offCpu: number;
  warmCpu: number;
  coldOffCpu: number;
  coldCpu: number;
  /** What authentication adds: warmCpu − offCpu, coldCpu − coldOffCpu. */
  warm: number;
  cold: number;
  /** The same difference round by round (each round's servers against each other). */
  warmRounds: number[];
  coldRounds: number[];
  rps: { off: number; warm: number; cold: number };
  ids: { off: string; warm: string; coldOff: string; cold: string };
}

/** What authentication costs each system on the one-account route; undefined for results of a benchmark that did not measure it. */
function authenticationCost(r: BenchResults): { route: string; systems: SystemCost[]; of(system: string): SystemCost } | undefined {
  if (!('authenticationCost' in r.compared)) return undefined;
  const { runs } = r.compared;
  const cpu = (id: string) => med(runs[id]!, 'cpuUsPerRequest');
  const byRound = (id: string, off: string) => runs[id]!.map((x, i) => x.cpuUsPerRequest - (runs[off]![i]?.cpuUsPerRequest ?? Number.NaN));
  const systems = r.compared.authenticationCost.systems.map((x) => ({
    system: x.system,
    title: x.title,
    offCpu: cpu(x.off),
    warmCpu: cpu(x.warm),
    coldOffCpu: cpu(x.coldOff),
    coldCpu: cpu(x.cold),
    warm: cpu(x.warm) - cpu(x.off),
    cold: cpu(x.cold) - cpu(x.coldOff),
    warmRounds: byRound(x.warm, x.off),
    coldRounds: byRound(x.cold, x.coldOff),
    rps: { off: med(runs[x.off]!, 'rps'), warm: med(runs[x.warm]!, 'rps'), cold: med(runs[x.cold]!, 'rps') },
    ids: { off: x.off, warm: x.warm, coldOff: x.coldOff, cold: x.cold },
  }));
  return {
    route: r.compared.authenticationCost.route,
    systems,
    of: (system) => {
      const found = systems.find((x) => x.system === system);
      if (found === undefined) throw new Error(`no authentication cost measured for ${system}`);
      return found;
    },
  };
}

/**
 * (d) against its reference: the server CPU per request each adds. Measured on the one-account
 * route against the app without authentication of the process serving both (earlier results:
 * each in its own process, or both on the list route against (a)).
 */
function coldAgainstReference(r: BenchResults): { tessera: number; reference: number; where: string } {
  const { runs } = r.compared;
  const cpu = (id: string) => med(runs[id]!, 'cpuUsPerRequest');
  if ('authenticationCost' in r.compared && 'reference' in r.compared.authenticationCost) {
    const { systems, reference } = r.compared.authenticationCost;
    const tessera = systems.find((x) => x.system === 'tessera')!;
    const route = `On \`GET ${r.compared.authenticationCost.route}\``;
    return {
      tessera: cpu(tessera.cold) - cpu(tessera.coldOff),
      reference: cpu(reference.cold) - cpu(reference.off),
      where:
        reference.off === tessera.coldOff
          ? `${route}, both served by one process (as three apps: Tessera cold, the reference, and without authentication) and each against its app without authentication (${n1(cpu(tessera.coldOff))} µs per request); the cold server writes what its requests counted (usage, activity) at the end of each round's cold runs, inside their measured window, so no other target is charged for it`
          : `${route}, each against an app without authentication in its own process (${n1(cpu(tessera.coldOff))} and ${n1(cpu(reference.off))} µs per request)`,
    };
  }
  return { tessera: cpu('d') - cpu('a'), reference: cpu('ref') - cpu('a'), where: `On the list route, against (a) (${n1(cpu('a'))} µs per request)` };
}

/**
 * This machine's speed, to set the absolute targets (milliseconds, keys per second, seconds)
 * beside another run's: two figures that depend on the machine and not on Tessera.
 */
function machineYardstick(r: BenchResults): string | undefined {
  const raw = 'baseline' in r.compared ? r.compared.baseline.rawVerifyUs : undefined;
  const plain = r.compared.runs['f'];
  if (raw === undefined || plain === undefined) return undefined;
  return `- speed of this machine, for comparing absolute figures with other runs: one Ed25519 verification (node:crypto, in the benchmark process) takes ${n1(raw)} µs, and plain Fastify (f) uses ${n1(med(plain, 'cpuUsPerRequest'))} µs of server CPU per request`;
}

/** How a round's seconds per target were spread, when in slices: the targets' slices in turn. */
function slicing(r: BenchResults): string {
  const slices = 'slices' in r.settings ? r.settings.slices : 1;
  return slices > 1 ? ` in ${slices} slices of ${n1(r.settings.seconds / slices)} s, one slice of each target in turn` : '';
}

const range = (values: readonly number[]) => `${n1(Math.min(...values))} to ${n1(Math.max(...values))}`;

/** The section on what authentication costs, every sentence from the figures. */
function authenticationSection(r: BenchResults, cost: NonNullable<ReturnType<typeof authenticationCost>>): string[] {
  const out: string[] = [];
  const { compared } = r;
  const tessera = cost.of('tessera');
  const counted = (id: string) => ('counters' in compared ? compared.counters[id] : undefined);
  const requests = (id: string) => compared.runs[id]!.reduce((sum, x) => sum + x.requests, 0);
  out.push(`### What authentication costs: \`GET ${cost.route}\`, the same server with and without it`, '');
  out.push(
    `One cloud account by id, in the same alternating rounds (${r.settings.rounds} of ${r.settings.seconds} s${slicing(r)}, ${compared.connections} connections). Each system's server process serves the route from two apps: one as the system authenticates, and one without authentication, which gets the same requests, credential included, and ignores it. One process can run the same code faster or slower than another for its whole life, so both sides of the difference come from the same process: what authentication adds is the median server CPU per request of the authenticated runs minus that of the runs without authentication (Tessera's cold server is a process of its own, with its own app without authentication, and serves (d)'s reference too). Warm: one credential on every request. Cold: a different credential on every request, in turn from a pool of ${fmt(compared.poolSize)}, so one comes back only after ${fmt(compared.poolSize - 1)} others; Tessera's cold server has its verified-token and key-state caches sized 1, so no key is remembered; the peers keep no cache of credentials.`,
    '',
  );
  const lookups = cost.systems
    .filter((x) => x.system === 'tessera')
    .flatMap((x) => Object.values(x.ids))
    .map((id) => counted(id))
    .reduce((sum, c) => sum + (c === undefined ? 0 : c.pageHits + c.pageMisses), 0);
  out.push(
    `Tessera reads this route's row on every request: in its ${fmt(requests(tessera.ids.off) + requests(tessera.ids.warm) + requests(tessera.ids.cold))} requests here the page cache was asked ${fmt(lookups)} times.${tokenCacheSentence(r, tessera)}`,
    '',
  );
  out.push(
    '| system | req/s off | req/s warm | req/s cold | CPU µs/request off | warm | cold | added warm | added cold | added warm, by round | added cold, by round |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const x of cost.systems)
    out.push(
      `| ${x.title} | ${n0(x.rps.off)} | ${n0(x.rps.warm)} | ${n0(x.rps.cold)} | ${x.ids.coldOff === x.ids.off ? n1(x.offCpu) : `${n1(x.offCpu)} (${n1(x.coldOffCpu)} in the cold server)`} | ${n1(x.warmCpu)} | ${n1(x.coldCpu)} | **${n1(x.warm)}** | **${n1(x.cold)}** | ${range(x.warmRounds)} | ${range(x.coldRounds)} |`,
    );
  out.push('');
  const peers = cost.systems.filter((x) => x.system !== 'tessera');
  out.push(
    `${
      tessera.warm > 0
        ? `Tessera's warm authentication adds ${n2(tessera.warm)} µs per request; against ${peers.map((p) => `${p.title}'s ${n1(p.warm)} µs, ${shareOf(tessera.warm, p.warm)}`).join('; against ')}.`
        : `Tessera's warm authentication measured ${n2(tessera.warm)} µs per request: its authenticated server used no more CPU than the one without authentication, where ${peers.map((p) => `${p.title}'s added ${n1(p.warm)} µs`).join(' and ')}.`
    } Cold, it adds ${n1(tessera.cold)} µs: ${peers.map((p) => `${n2(tessera.cold / p.cold)}× ${p.title}'s ${n1(p.cold)} µs`).join(', and ')}.`,
  );
  const warmSpread = Math.max(...tessera.warmRounds) - Math.min(...tessera.warmRounds);
  out.push(
    `Round by round (each round on new processes), Tessera's warm authentication added ${range(tessera.warmRounds)} µs: a spread of ${n1(warmSpread)} µs, within which this run cannot tell two warm figures apart.`,
  );
  for (const { peer: system, share } of WARM_SHARES) {
    const peer = cost.of(system);
    const limit = peer.warm / share;
    if (tessera.warm <= limit) continue;
    out.push(
      `The warm target against ${peer.title} (≤ 1/${share}, ${n2(limit)} µs) is missed by ${n2(tessera.warm - limit)} µs. ${warmSpread > limit ? `Its rounds spread over ${n1(warmSpread)} µs, more than the whole allowance: a figure this small is at the edge of what this run resolves.` : `Its rounds spread over ${n1(warmSpread)} µs, less than the allowance.`} In the benchmark process, without HTTP, a warm authentication with its change check costs ${n1(r.compared.baseline.warmAuthUs)} µs; over HTTP it measured ${tessera.warm > r.compared.baseline.warmAuthUs ? `${n1(tessera.warm - r.compared.baseline.warmAuthUs)} µs more than that` : 'no more than that'}.`,
    );
  }
  const reference = coldAgainstReference(r).reference;
  for (const peer of peers) {
    if (tessera.cold < peer.cold) continue;
    out.push(
      `The cold target against ${peer.title} is missed by ${n1(tessera.cold - peer.cold)} µs (round by round Tessera's cold authentication added ${range(tessera.coldRounds)} µs, ${peer.title}'s ${range(peer.coldRounds)} µs). On the same route, (d)'s reference (a raw Ed25519 verification and one indexed lookup of the key, nothing else checked) adds ${n1(reference)} µs, ${reference >= peer.cold ? `${n1(reference - peer.cold)} µs more than ${peer.title}'s whole authentication` : `${n1(peer.cold - reference)} µs less than ${peer.title}'s`}; Tessera's cold authentication costs ${n1(tessera.cold - reference)} µs more than the reference, for what the reference leaves out (every pinned claim, the key's state, the constant-time hash compare, the caches filled, the usage count).`,
    );
  }
  out.push('');
  return out;
}

/**
 * The framework tax: (a) and (b) against plain Fastify sending the same bytes (f), and where
 * (b)'s server CPU goes, from the profile (each step's share of the busy samples times (b)'s
 * median CPU per request).
 */
function taxSection(r: BenchResults): string[] {
  const { compared } = r;
  const profile = compared.profile;
  const cpu = (id: string) => med(compared.runs[id]!, 'cpuUsPerRequest');
  const rps = (id: string) => med(compared.runs[id]!, 'rps');
  const [a, b, f] = [rps('a'), rps('b'), rps('f')];
  const out: string[] = ['### The framework tax: (a) and (b) against plain Fastify (f)', ''];
  out.push(
    `(f) is plain Fastify 5 answering \`GET /api/v1/cloud-accounts\` with the bytes and headers of (b)'s answer (taken from (b)'s server at start; x-request-id is its own request id), in the same rounds: one route, no hook, no schema, no log line. Medians: (a) ${n0(a)} req/s at ${n1(cpu('a'))} µs of server CPU per request, (b) ${n0(b)} req/s at ${n1(cpu('b'))} µs, (f) ${n0(f)} req/s at ${n1(cpu('f'))} µs. (b)/(f) ${n2(b / f)}, (a)/(f) ${n2(a / f)}, (b)/(a) ${n2(b / a)}; by CPU per request, (b) costs ${n2(cpu('b') / cpu('f'))}× (f), ${n1(cpu('b') - cpu('f'))} µs more per request.`,
    '',
  );
  if (b / f < TAX_TARGET) {
    const missing = TAX_TARGET * f - b;
    out.push(
      `The target (b) ≥ ${n2(TAX_TARGET)} × (f) is missed: (b) would need ${n0(TAX_TARGET * f)} req/s, ${n0(missing)} more (${n1((missing / b) * 100)}%); at (f)'s throughput that is a request costing at most ${n1(cpu('f') / TAX_TARGET)} µs of server CPU, against (b)'s ${n1(cpu('b'))} µs. Where (b)'s time goes is below; the largest steps are ${profile.steps
        .slice(0, 3)
        .map((x) => `${x.step} (${n1(x.share * cpu('b'))} µs)`)
        .join(', ')}.`,
      '',
    );
  }
  out.push(
    `Where (b)'s server time goes: a CPU profile (V8's sampler through node:inspector, a sample every 100 µs) of a server as (b)'s, over one ${profile.seconds} s load run after its warm-up (${fmt(profile.requests)} requests, ${fmt(profile.samples)} busy samples; ${n1(profile.cpuUsPerRequest)} µs CPU per request under the profiler). Each busy sample is filed under the innermost frame on its stack that belongs to a step (bench/lib/profile.ts): a library call inside a hook is that hook's, the socket write that \`reply.send\` starts is the write's. µs per request: the step's share of the samples times (b)'s median ${n1(cpu('b'))} µs of server CPU per request in the rounds above (the profile sees the main thread only; /proc counts every thread and the kernel's work for it).`,
    '',
  );
  out.push('| step | share of busy samples | µs per request |', '| --- | --- | --- |');
  for (const x of profile.steps) out.push(`| ${x.step} | ${n1(x.share * 100)}% | ${n1(x.share * cpu('b'))} |`);
  out.push('');
  out.push('The functions with the most self time in that profile:', '', '| function | where | share |', '| --- | --- | --- |');
  for (const x of profile.top) out.push(`| \`${x.name}\` | ${x.where} | ${n1(x.share * 100)}% |`);
  out.push('');
  return out;
}

/** How Tessera's warm runs met its credential caches, from the counters read around them. */
function tokenCacheSentence(r: BenchResults, tessera: SystemCost): string {
  const warm = 'counters' in r.compared ? r.compared.counters[tessera.ids.warm] : undefined;
  if (warm === undefined) return '';
  const requests = r.compared.runs[tessera.ids.warm]!.reduce((sum, x) => sum + x.requests, 0);
  return ` Its warm runs missed the verified-token cache ${fmt(warm.tokenMisses)} times and the key-state cache ${fmt(warm.stateMisses)} times in ${fmt(requests)} requests.`;
}

/**
 * The systems whose authentication is costed on the one-account route, and their targets there:
 * each authenticated target is compared with the target without authentication of its own
 * process (Tessera's cold server is a process of its own).
 */
export const AUTHENTICATION_COST = [
  { system: 'tessera', title: 'Tessera', off: 'tessera-off', warm: 'tessera-warm', coldOff: 'tessera-cold-off', cold: 'tessera-cold' },
  {
    system: 'fastify-jwt',
    title: 'Fastify + @fastify/jwt + SQL revocation lookup',
    off: 'fastify-jwt-off',
    warm: 'fastify-jwt-warm',
    coldOff: 'fastify-jwt-off',
    cold: 'fastify-jwt-cold',
  },
  {
    system: 'better-auth',
    title: 'better-auth + API-key plugin',
    off: 'better-auth-off',
    warm: 'better-auth-warm',
    coldOff: 'better-auth-off',
    cold: 'better-auth-cold',
  },
] as const;
