import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/availability.ts';
import type { Storage } from '../db/database.ts';

/** What a job does across instances. */
export interface JobOptions {
  /**
   * `cluster` (default): housekeeping on shared data (expiry sweeps, audit retention). With
   * many instances on PostgreSQL it runs on one instance at a time, under an advisory lock,
   * and once per interval in the whole cluster.
   * `instance`: work on this process's own state (flushing the usage it counted in memory):
   * runs on every instance, no lock.
   */
  scope?: 'cluster' | 'instance';
  /** Also run when the scheduler starts (a cluster job still skips if another instance ran it within the interval). */
  atStart?: boolean;
}

/** How a run ended: `ran`, or skipped because another instance holds the job (`busy`) or ran it within the interval (`recent`). */
export type RunOutcome = 'ran' | 'busy' | 'recent';

interface Job {
  name: string;
  intervalMs: number;
  scope: 'cluster' | 'instance';
  atStart: boolean;
  run: () => Promise<void>;
  timer: NodeJS.Timeout | undefined;
  running: Promise<RunOutcome> | undefined;
}

/** Every Tessera advisory lock uses this first key, so its locks never meet other applications' single-key locks. */
const LOCK_CLASS = 0x7e55e7a;

/** A stable 31-bit number for `schema:job name`: the second key of a job's advisory lock. */
export function lockKey(name: string): number {
  return createHash('sha256').update(`tessera:${name}`).digest().readUInt32BE(0) & 0x7fffffff;
}

/**
 * A run that started less than this share of the interval ago counts as this interval's
 * run: timers on different instances drift, and a job must not run twice because of it.
 */
const RECENT_SHARE = 0.9;

/**
 * Periodic housekeeping. Cluster jobs on PostgreSQL hold a session-level advisory lock for
 * the whole run (so a job never runs on two instances at once, and a crashed instance's lock
 * goes with its connection) and record their start in `job_runs` (so the cluster runs each
 * once per interval, however many instances tick). A tick that finds the job busy or done
 * skips. On SQLite there is one instance: jobs simply run.
 */
export class Scheduler {
  readonly #jobs = new Map<string, Job>();
  #started = false;
  readonly #instance = `${hostname()}:${process.pid}`.slice(0, 200);
  #schema: Promise<string> | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
    /** Told of a run that failed because the database cannot serve (logged once per outage there). */
    private readonly onDatabaseUnavailable: (error: unknown) => void = () => {},
  ) {}

  /** Declares a job; it runs every `intervalMs` once `start()` was called. */
  every(name: string, intervalMs: number, run: () => Promise<void>, options: JobOptions = {}): void {
    if (this.#jobs.has(name)) throw new TypeError(`job ${name} is declared twice`);
    if (!Number.isInteger(intervalMs) || intervalMs <= 0) throw new TypeError(`job ${name}: intervalMs must be a positive integer`);
    const job: Job = { name, intervalMs, scope: options.scope ?? 'cluster', atStart: options.atStart === true, run, timer: undefined, running: undefined };
    this.#jobs.set(name, job);
    if (this.#started) this.#schedule(job);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const job of this.#jobs.values()) this.#schedule(job);
  }

  /**
   * Runs a job now as a tick would (under its lock; skipped if another instance runs it or
   * ran it within the interval), or with `force` regardless of when it last ran. Resolves
   * when done; a failing job is logged, not thrown. Tests and shutdown use it.
   */
  async runNow(name: string, options: { force?: boolean } = {}): Promise<RunOutcome> {
    const job = this.#jobs.get(name);
    if (job === undefined) throw new TypeError(`no job named ${name}`);
    return this.#runOnce(job, options.force === true);
  }

  /** Stops the timers and waits for running jobs to finish. */
  async stop(): Promise<void> {
    this.#started = false;
    for (const job of this.#jobs.values()) {
      if (job.timer !== undefined) clearInterval(job.timer);
      job.timer = undefined;
    }
    await Promise.all([...this.#jobs.values()].map((job) => job.running));
  }

  /** A database outage is reported once, where it is counted; anything else is a warning of its own. */
  #warn(err: unknown, job: Job, message: string): void {
    if (isDatabaseUnavailable(err)) this.onDatabaseUnavailable(err);
    else this.log.warn({ err, job: job.name }, message);
  }

  #schedule(job: Job): void {
    job.timer = setInterval(() => void this.#runOnce(job, false), job.intervalMs);
    job.timer.unref();
    if (job.atStart) void this.#runOnce(job, false);
  }

  #runOnce(job: Job, force: boolean): Promise<RunOutcome> {
    // One run at a time per process; a tick that finds the job still running joins it.
    job.running ??= this.#locked(job, force)
      .catch((err: unknown): RunOutcome => {
        // A database outage fails every job until it ends: the next tick tries again.
        if (isDatabaseUnavailable(err)) this.onDatabaseUnavailable(err);
        else this.log.error({ err, job: job.name }, 'scheduled job failed');
        return 'ran';
      })
      .finally(() => {
        job.running = undefined;
      });
    return job.running;
  }

  async #locked(job: Job, force: boolean): Promise<RunOutcome> {
    if (this.storage.dialect !== 'postgres' || job.scope === 'instance') {
      await job.run();
      return 'ran';
    }
    // Advisory locks are database-wide: the schema in the key keeps deployments (and test
    // runs) that share one database in different schemas from blocking each other's jobs.
    this.#schema ??= sql<{ schema: string }>`select current_schema() as schema`.execute(this.storage.db).then(
      (r) => r.rows[0]?.schema ?? 'public',
      (error: unknown) => {
        this.#schema = undefined; // ask again next time (the database may be back)
        throw error;
      },
    );
    const key = lockKey(`${await this.#schema}:${job.name}`);
    // One pooled connection holds the lock for the whole run (the job's own queries use others).
    return this.storage.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}, ${key}) as locked`.execute(conn);
      if (rows[0]?.locked !== true) return 'busy';
      try {
        const now = new Date();
        if (!force) {
          const last = await conn.selectFrom('job_runs').select('last_started_at').where('name', '=', job.name).executeTakeFirst();
          if (last !== undefined && now.getTime() - Date.parse(last.last_started_at) < job.intervalMs * RECENT_SHARE) return 'recent';
        }
        const started = { last_started_at: now.toISOString(), last_finished_at: null, last_status: 'running', last_instance: this.#instance };
        await conn
          .insertInto('job_runs')
          .values({ name: job.name, ...started })
          .onConflict((oc) => oc.column('name').doUpdateSet(started))
          .execute();
        let status = 'failed';
        try {
          await job.run();
          status = 'ok';
        } finally {
          await conn
            .updateTable('job_runs')
            .set({ last_finished_at: new Date().toISOString(), last_status: status })
            .where('name', '=', job.name)
            .execute()
            .catch((err: unknown) => this.#warn(err, job, 'could not record the end of a job run'));
        }
        return 'ran';
      } finally {
        // If this fails the connection is broken, and PostgreSQL released the lock with it.
        await sql`select pg_advisory_unlock(${LOCK_CLASS}, ${key})`.execute(conn).catch((err: unknown) => this.#warn(err, job, 'could not release a job lock'));
      }
    });
  }
}
