import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrateToLatest, openStorage, type Storage } from '../src/db/database.ts';
import { lockKey, Scheduler } from '../src/jobs/scheduler.ts';
import { createPgSchema, DIALECTS } from './helpers/databases.ts';

const log = pino({ level: 'silent' });

/** A promise the test resolves by hand: a job that runs until told to finish. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('scheduler on SQLite (one instance)', () => {
  let storage: Storage;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-sched-'));
    storage = openStorage({ databaseUrl: undefined, dataDir });
    await migrateToLatest(storage.db);
  });
  afterAll(async () => {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a job on demand and on its timer once started, and stops', async () => {
    const scheduler = new Scheduler(storage, log);
    let runs = 0;
    scheduler.every('count', 20, async () => void runs++);
    expect(await scheduler.runNow('count')).toBe('ran');
    expect(runs).toBe(1);
    scheduler.start();
    await vi.waitFor(() => expect(runs).toBeGreaterThanOrEqual(3));
    await scheduler.stop();
    const after = runs;
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).toBe(after);
  });

  it('runs a job declared atStart when the scheduler starts, before its first tick', async () => {
    const scheduler = new Scheduler(storage, log);
    let eager = 0;
    let lazy = 0;
    scheduler.every('eager', 60 * 60 * 1000, async () => void eager++, { atStart: true });
    scheduler.every('lazy', 60 * 60 * 1000, async () => void lazy++);
    scheduler.start();
    await vi.waitFor(() => expect(eager).toBe(1));
    await scheduler.stop();
    expect(lazy).toBe(0);
  });

  it('never runs one job twice at once in a process; stop() waits for the running one', async () => {
    const scheduler = new Scheduler(storage, log);
    const release = gate();
    let concurrent = 0;
    let maxConcurrent = 0;
    let finished = false;
    scheduler.every('slow', 10_000, async () => {
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await release.opened;
      concurrent--;
      finished = true;
    });
    const first = scheduler.runNow('slow');
    const second = scheduler.runNow('slow');
    const stopping = scheduler.stop();
    release.open();
    await Promise.all([first, second, stopping]);
    expect(maxConcurrent).toBe(1);
    expect(finished).toBe(true);
  });

  it('logs a failing job instead of crashing, and runs it again next time', async () => {
    const lines: Array<{ msg: string; job?: string }> = [];
    const recording = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const scheduler = new Scheduler(storage, recording);
    let attempts = 0;
    scheduler.every('flaky', 10_000, async () => {
      attempts++;
      throw new Error('boom');
    });
    await scheduler.runNow('flaky');
    await scheduler.runNow('flaky');
    expect(attempts).toBe(2);
    expect(lines.filter((l) => l.msg === 'scheduled job failed' && l.job === 'flaky')).toHaveLength(2);
  });

  it('reports a run failed by a database outage to the outage tracker, not as an error line, and runs it again next time', async () => {
    const lines: Array<{ msg: string }> = [];
    const recording = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const outages: unknown[] = [];
    const scheduler = new Scheduler(storage, recording, (error) => outages.push(error));
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    let attempts = 0;
    scheduler.every('locked-out', 10_000, async () => {
      attempts++;
      throw busy;
    });
    await scheduler.runNow('locked-out');
    await scheduler.runNow('locked-out');
    expect(attempts).toBe(2);
    expect(outages).toEqual([busy, busy]);
    expect(lines).toEqual([]);
  });

  it('refuses a job declared twice or with a bad interval, and an unknown job name (programmer errors)', async () => {
    const scheduler = new Scheduler(storage, log);
    scheduler.every('once', 1000, async () => {});
    expect(() => scheduler.every('once', 1000, async () => {})).toThrow(TypeError);
    expect(() => scheduler.every('zero', 0, async () => {})).toThrow(TypeError);
    await expect(scheduler.runNow('nope')).rejects.toThrow(TypeError);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('scheduler on PostgreSQL (several instances)', () => {
  let schema: Awaited<ReturnType<typeof createPgSchema>>;
  /** Two instances: two pools on the same schema, as two processes would have. */
  let one: Storage;
  let two: Storage;
  beforeAll(async () => {
    schema = await createPgSchema();
    one = openStorage({ databaseUrl: schema.url, dataDir: tmpdir() });
    two = openStorage({ databaseUrl: schema.url, dataDir: tmpdir() });
    await migrateToLatest(one.db);
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    await schema.drop();
  });

  it('runs a cluster job on one instance at a time: the other skips while it holds the lock', async () => {
    const a = new Scheduler(one, log);
    const b = new Scheduler(two, log);
    const release = gate();
    const ranOn: string[] = [];
    a.every('sweep', 60_000, async () => {
      ranOn.push('a');
      await release.opened;
    });
    b.every('sweep', 60_000, async () => void ranOn.push('b'));
    const running = a.runNow('sweep');
    await vi.waitFor(() => expect(ranOn).toEqual(['a']));
    // Even forced, B cannot run it while A holds the lock.
    expect(await b.runNow('sweep', { force: true })).toBe('busy');
    release.open();
    expect(await running).toBe('ran');
    expect(ranOn).toEqual(['a']);
    // The lock was released: B may run it now (forced: A ran it a moment ago).
    expect(await b.runNow('sweep', { force: true })).toBe('ran');
    expect(ranOn).toEqual(['a', 'b']);
  });

  it('runs a cluster job once per interval in the whole cluster, however many instances tick', async () => {
    const a = new Scheduler(one, log);
    const b = new Scheduler(two, log);
    const ranOn: string[] = [];
    a.every('retention', 60_000, async () => void ranOn.push('a'));
    b.every('retention', 60_000, async () => void ranOn.push('b'));
    expect(await a.runNow('retention')).toBe('ran');
    expect(await b.runNow('retention')).toBe('recent');
    expect(await a.runNow('retention')).toBe('recent');
    expect(ranOn).toEqual(['a']);
    const record = await one.db.selectFrom('job_runs').selectAll().where('name', '=', 'retention').executeTakeFirstOrThrow();
    expect(record.last_status).toBe('ok');
    expect(record.last_finished_at).not.toBeNull();
    // An interval later the job is due again, wherever the tick happens.
    await one.db
      .updateTable('job_runs')
      .set({ last_started_at: new Date(Date.now() - 61_000).toISOString() })
      .where('name', '=', 'retention')
      .execute();
    expect(await b.runNow('retention')).toBe('ran');
    expect(ranOn).toEqual(['a', 'b']);
  });

  it('releases the lock when a job fails, and records the failure', async () => {
    const a = new Scheduler(one, log);
    const b = new Scheduler(two, log);
    a.every('fragile', 60_000, async () => {
      throw new Error('boom');
    });
    let ranOnB = false;
    b.every('fragile', 60_000, async () => void (ranOnB = true));
    await a.runNow('fragile');
    const record = await one.db.selectFrom('job_runs').selectAll().where('name', '=', 'fragile').executeTakeFirstOrThrow();
    expect(record.last_status).toBe('failed');
    expect(await b.runNow('fragile', { force: true })).toBe('ran');
    expect(ranOnB).toBe(true);
  });

  it("runs instance jobs (this process's own state) on every instance, even at the same time", async () => {
    const a = new Scheduler(one, log);
    const b = new Scheduler(two, log);
    const release = gate();
    const ranOn: string[] = [];
    a.every(
      'flush',
      60_000,
      async () => {
        ranOn.push('a');
        await release.opened;
      },
      { scope: 'instance' },
    );
    b.every('flush', 60_000, async () => void ranOn.push('b'), { scope: 'instance' });
    const running = a.runNow('flush');
    expect(await b.runNow('flush')).toBe('ran');
    expect(await b.runNow('flush')).toBe('ran');
    release.open();
    await running;
    expect(ranOn.sort()).toEqual(['a', 'b', 'b']);
  });

  it('uses a two-key advisory lock per schema and job name (a stable key, distinct per job)', async () => {
    expect(lockKey('sweep')).toBe(lockKey('sweep'));
    expect(lockKey('sweep')).not.toBe(lockKey('retention'));
    expect(lockKey('sweep')).toBeGreaterThanOrEqual(0);
    expect(lockKey('sweep')).toBeLessThanOrEqual(0x7fffffff);
    // The lock is held on the PostgreSQL side while the job runs, under the job's keys.
    const a = new Scheduler(one, log);
    const release = gate();
    a.every('visible', 60_000, async () => release.opened);
    const running = a.runNow('visible');
    await vi.waitFor(async () => {
      const {
        rows: [{ schema: current }],
      } = await two.pool!.query('select current_schema() as schema');
      const { rows } = await two.pool!.query("select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = $1 and granted", [
        lockKey(`${current}:visible`),
      ]);
      expect(rows[0].n).toBe(1);
    });
    release.open();
    await running;
  });
});
