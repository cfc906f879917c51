import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Storage } from '../db/database.ts';

interface Job {
  name: string;
  intervalMs: number;
  run: () => Promise<void>;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

/** A stable 31-bit number for a job name: the PostgreSQL advisory lock key. */
function lockKey(name: string): number {
  let hash = 0;
  for (const char of `tessera:${name}`) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash & 0x7fffffff;
}

/**
 * Periodic housekeeping (sweeps, flushes). On PostgreSQL each run holds an advisory lock, so
 * with many instances a job runs on one at a time; a run that finds the lock taken skips.
 */
export class Scheduler {
  readonly #jobs = new Map<string, Job>();
  #started = false;

  constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
  ) {}

  /** Declares a job; it runs every `intervalMs` once `start()` was called. */
  every(name: string, intervalMs: number, run: () => Promise<void>): void {
    if (this.#jobs.has(name)) throw new TypeError(`job ${name} is declared twice`);
    const job: Job = { name, intervalMs, run, timer: undefined, running: undefined };
    this.#jobs.set(name, job);
    if (this.#started) this.#schedule(job);
  }

  start(): void {
    this.#started = true;
    for (const job of this.#jobs.values()) this.#schedule(job);
  }

  /** Runs a job now (under its lock); resolves when done. Tests and shutdown use it. */
  async runNow(name: string): Promise<void> {
    const job = this.#jobs.get(name);
    if (job === undefined) throw new TypeError(`no job named ${name}`);
    await this.#runOnce(job);
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

  #schedule(job: Job): void {
    job.timer = setInterval(() => void this.#runOnce(job), job.intervalMs);
    job.timer.unref();
  }

  #runOnce(job: Job): Promise<void> {
    // One run at a time per process; a tick that finds the job still running is skipped.
    job.running ??= this.#locked(job)
      .catch((err: unknown) => this.log.error({ err, job: job.name }, 'scheduled job failed'))
      .finally(() => {
        job.running = undefined;
      });
    return job.running;
  }

  async #locked(job: Job): Promise<void> {
    if (this.storage.dialect !== 'postgres') return job.run();
    const key = lockKey(job.name);
    await this.storage.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key}) as locked`.execute(conn);
      if (rows[0]?.locked !== true) return;
      try {
        await job.run();
      } finally {
        await sql`select pg_advisory_unlock(${key})`.execute(conn);
      }
    });
  }
}
