/**
 * The cost of a durable removal on SQLite: an access-reducing unit of work commits its group
 * with `synchronous = FULL` (the WAL synced at commit), others with NORMAL. Times the real
 * `AccessKeyService.remove` against the same statements run as an ordinary (NORMAL) unit,
 * interleaved so both see the same disk, one at a time (each its own group and commit) and
 * CONCURRENCY at a time (group commit: one sync per group).
 *
 *   node --import tsx bench/durable-removal.ts            (TRIALS=300 CONCURRENCY=16)
 *
 * Writes bench/DURABILITY.md. The data folder is made in the system's temporary folder: run
 * it where that is a real disk (a tmpfs has nothing to sync).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { deleteAccessKey, findAccessKeyRow } from '../src/access-keys/access-key.repository.ts';
import { loadConfig } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { ms, percentile, percentileRow } from './lib/measure.ts';

const TRIALS = Number(process.env['TRIALS'] ?? 300);
const CONCURRENCY = Number(process.env['CONCURRENCY'] ?? 16);
const OUT = new URL('./DURABILITY.md', import.meta.url);
const actor = { name: 'bench', ip: null };

/** `AccessKeyService.remove`'s statements as an ordinary unit (no reducesAccess): the NORMAL baseline. */
function removeWithoutDurability(ctx: Context, id: string): Promise<void> {
  return ctx.transactions.run(actor, async (work) => {
    const row = await findAccessKeyRow(work.trx, id);
    if (row === undefined) throw new Error(`no key ${id}`);
    await deleteAccessKey(work.trx, id);
    work.audit({ category: 'access-keys', resource: row.name, resourceId: id, action: 'delete', detail: { name: row.name } });
    work.announce({ kind: 'access-key', id });
  });
}

const durable = (ctx: Context, id: string) => ctx.accessKeys.remove(actor, id);
const normal = removeWithoutDurability;

async function makeKeys(ctx: Context, count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 64) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(64, count - start) }, (_, i) => ctx.accessKeys.create(actor, { name: `${prefix}-${start + i}`, roles: [{ role: 'global-viewer' }] })),
    );
    ids.push(...batch.map((made) => made.key.id));
  }
  return ids;
}

/** Milliseconds of each removal, one at a time. */
async function oneAtATime(ctx: Context, remove: typeof durable, ids: string[]): Promise<number[]> {
  const times: number[] = [];
  for (const id of ids) {
    const started = performance.now();
    await remove(ctx, id);
    times.push(performance.now() - started);
  }
  return times;
}

/** Milliseconds of each removal, CONCURRENCY in flight (they share group commits). */
async function concurrently(ctx: Context, remove: typeof durable, ids: string[]): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) {
        const id = ids[next++] as string;
        const started = performance.now();
        await remove(ctx, id);
        times.push(performance.now() - started);
      }
    }),
  );
  return times;
}

const row = (label: string, times: number[]) => percentileRow(label, times, { count: true, bold: true });

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-durability-bench-'));
  const fs = execFileSync('df', ['-T', dataDir], { encoding: 'utf8' }).trim().split('\n').at(-1)?.split(/\s+/)[1] ?? '?';
  const loadBefore = loadavg()[0] ?? 0;
  const ctx = await createContext(loadConfig({ TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }), createLogger({ logLevel: 'warn' }));
  // As a server runs: the WAL is checkpointed off the request path (src/db/wal-checkpointer.ts).
  ctx.start();
  try {
    const rounds = 5;
    const perRound = Math.ceil(TRIALS / rounds);
    const ids = await makeKeys(ctx, 4 * perRound * rounds, 'bench');
    const take = (() => {
      let at = 0;
      return (n: number) => ids.slice(at, (at += n));
    })();
    const results = { durableOne: [] as number[], normalOne: [] as number[], durableMany: [] as number[], normalMany: [] as number[] };
    // Interleaved rounds: whatever else the machine does falls on both alike.
    for (let round = 0; round < rounds; round++) {
      results.durableOne.push(...(await oneAtATime(ctx, durable, take(perRound))));
      results.normalOne.push(...(await oneAtATime(ctx, normal, take(perRound))));
      results.durableMany.push(...(await concurrently(ctx, durable, take(perRound))));
      results.normalMany.push(...(await concurrently(ctx, normal, take(perRound))));
    }
    const groups = ctx.transactions.groupStats;
    const lines = [
      '# Durable removal on SQLite: synchronous = FULL for access-reducing commits',
      '',
      `Measured by \`bench/durable-removal.ts\` on ${new Date().toISOString().slice(0, 10)}: SQLite in WAL mode, data folder on ${fs} (${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}); the machine is shared with other work (one-minute load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]?.toFixed(1)} at the end), so the tails are noisy.`,
      '',
      "A removal (like every access-reducing write) is acknowledged only once durable: its group commits with `synchronous = FULL`, which syncs the WAL at the commit. The baseline runs the same statements (find, delete, audit row) as an ordinary unit, committed with the connection's `synchronous = NORMAL` (durable through a process crash, not through an OS crash or power loss). Interleaved in " +
        rounds +
        ' rounds.',
      '',
      '| removal | n | p50 | p99 | max |',
      '| --- | --- | --- | --- | --- |',
      row('durable (FULL), one at a time', results.durableOne),
      row('NORMAL, one at a time', results.normalOne),
      row(`durable (FULL), ${CONCURRENCY} in flight (group commit)`, results.durableMany),
      row(`NORMAL, ${CONCURRENCY} in flight (group commit)`, results.normalMany),
      '',
      `One at a time, the durable removal costs ${ms(percentile(results.durableOne, 50) - percentile(results.normalOne, 50))} more at p50: one sync of the WAL at its commit (test/durability.test.ts counts them); the p99s (${ms(percentile(results.durableOne, 99))} against ${ms(percentile(results.normalOne, 99))}) are the shared machine's tails more than the sync's. With ${CONCURRENCY} in flight the units share groups, one sync each; better-sqlite3 runs the commit, and so the sync, on the event loop's thread, so a group cannot grow while it syncs and other requests wait for that sync too. Groups committed: ${groups.groups} (${groups.durableGroups} durable), including the ${ids.length} creates that made the keys (NORMAL). Removals are administrative and rare: this is their price for staying removed through a power loss.`,
      '',
      'Creates, edits of other things and every other ordinary write keep NORMAL: their cost is unchanged (bench/REPORT.md).',
      '',
    ];
    writeFileSync(OUT, lines.join('\n'));
    console.log(lines.join('\n'));
  } finally {
    await ctx.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
