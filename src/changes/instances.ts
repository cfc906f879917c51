import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Logger } from 'pino';
import { openPool } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { EVERYTHING_CHANGED, type Change } from './change.ts';

/*
 * PostgreSQL: an access-reducing write is answered only once every live instance has applied
 * it. Each server instance keeps a row in `instances`: a heartbeat, and the highest number of
 * `change_sequence` it has applied (heard in a NOTIFY, after dropping the caches it names).
 * The writer, after its commit, waits until every other live instance reports its number, for
 * at most ACKNOWLEDGEMENT_BOUND_MS.
 *
 * Why answering after the bound is still safe: an instance trusts its caches only within
 * CONFIRMATION_WINDOW_MS of sending its last heartbeat that succeeded; that heartbeat read the
 * head of `change_sequence`, and an instance behind the head drops every cache. A heartbeat
 * that could have missed the write began before its commit, so it stops vouching for the caches
 * before the writer gives up (the window is shorter than the bound), and every later heartbeat
 * sees the write. An instance is live, and waited for, while its heartbeat is more recent
 * than the window; one older than that cannot be trusting its caches either.
 */

/** The longest an access-reducing write waits for the other instances after its commit. */
export const ACKNOWLEDGEMENT_BOUND_MS = 2000;
/** How long a heartbeat that succeeded vouches for an instance's caches, and keeps it live for writers. */
export const CONFIRMATION_WINDOW_MS = 1500;
/** How often an instance beats: three chances within the window. */
export const HEARTBEAT_MS = 500;
/** Rows of instances silent this long are deleted (a stopped instance deletes its own). */
const FORGET_AFTER_MS = 60_000;
/** Heartbeats between two sweeps of forgotten rows. */
const SWEEP_EVERY_BEATS = 20;

/** An instance that did not confirm a change in time, as the writer's log names it. */
export interface UnconfirmedInstance {
  id: string;
  host: string;
  pid: number;
}

/** The instances (other than `except`) that have not applied `seq` yet, and whether each is live. */
async function instancesBehind(db: Kysely<Database>, seq: number, except: string | undefined): Promise<Array<UnconfirmedInstance & { live: boolean }>> {
  return db
    .selectFrom('instances')
    .select(['id', 'host', 'pid', sql<boolean>`heartbeat_at > now() - ${CONFIRMATION_WINDOW_MS} * interval '1 millisecond'`.as('live')])
    .where('applied_seq', '<', seq)
    .$if(except !== undefined, (q) => q.where('id', '<>', except as string))
    .execute();
}

/** Resolves after `ms`, or at `deadline` (performance.now()) if that is sooner. */
const pause = (ms: number, deadline: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, Math.min(ms, deadline - performance.now()))));

/**
 * The writer's side: waits after an access-reducing commit until every other live instance
 * has applied it, or the bound has passed (logged, counted). Used by server instances (on
 * their registry's own connections) and by the CLI (which is no instance: it waits for all).
 */
export class ChangeAcknowledgements {
  /**
   * Since start, for `/metrics`: writes confirmed by every live instance; writes during which
   * an instance went silent without confirming (not waited for once its heartbeat was stale);
   * writes answered at the bound.
   */
  readonly stats = { confirmed: 0, instanceLost: 0, timedOut: 0 };
  readonly #listeners: Array<(seconds: number, confirmed: boolean) => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    /** This instance's id: it applied the change before the wait began. */
    private readonly self: string | undefined,
    private readonly boundMs: number = ACKNOWLEDGEMENT_BOUND_MS,
  ) {}

  /** Called with each wait's duration and whether every live instance confirmed. */
  onWaited(listener: (seconds: number, confirmed: boolean) => void): void {
    this.#listeners.push(listener);
  }

  readonly wait = async (seq: number): Promise<void> => {
    const started = performance.now();
    const deadline = started + this.boundMs;
    /** The live instances behind, as the last poll that answered saw them (undefined: none answered). */
    let behind: UnconfirmedInstance[] | undefined;
    let confirmed = false;
    /** Instances seen live and behind during this wait. */
    const awaited = new Map<string, UnconfirmedInstance>();
    let lost: UnconfirmedInstance[] = [];
    for (let attempt = 0; ; attempt++) {
      // Asked at once (alone, an instance waits for nobody), then after pauses growing from 1 to
      // 5 ms: a NOTIFY takes a moment to be applied and acknowledged, and polling harder would
      // cost the database a query per millisecond per waiting writer.
      if (attempt > 0) await pause(Math.min(5, attempt), deadline);
      try {
        // A poll still running at the deadline is not waited for.
        const rows = await Promise.race([instancesBehind(this.db, seq, this.self), pause(deadline - performance.now(), deadline).then(() => undefined)]);
        if (rows !== undefined) {
          behind = rows.filter((row) => row.live).map(({ id, host, pid }) => ({ id, host, pid }));
          for (const row of behind) awaited.set(row.id, row);
          lost = rows.filter((row) => !row.live && awaited.has(row.id)).map(({ id, host, pid }) => ({ id, host, pid }));
          confirmed = behind.length === 0;
        }
      } catch (error) {
        // The database is unreachable: keep asking until the bound; instances that cannot reach
        // it either cannot write their heartbeat, and stop trusting their caches.
        this.log.debug({ err: (error as Error).message }, 'could not read instance acknowledgements');
      }
      if (confirmed || performance.now() >= deadline) break;
    }
    const waited = performance.now() - started;
    if (confirmed && lost.length === 0) this.stats.confirmed++;
    else if (confirmed) {
      this.stats.instanceLost++;
      this.log.warn(
        { seq, waitedMs: Math.round(waited), instances: lost },
        'access-reducing change: an instance went silent (heartbeat stale) before confirming it and was not waited for; if it is paused rather than dead, it answers from SQL, not from its caches, until it catches up',
      );
    } else {
      this.stats.timedOut++;
      this.log.warn(
        { seq, waitedMs: Math.round(waited), instances: behind ?? 'unknown (database unreachable)' },
        `access-reducing change not confirmed by every live instance within ${this.boundMs} ms; answered anyway: an instance that has not applied it answers from SQL, not from its caches, until it catches up`,
      );
    }
    for (const listener of this.#listeners) listener(waited / 1000, confirmed);
  };
}

/**
 * One server instance's row in `instances`, and whether its caches may be trusted: its change
 * feed asks `confirmed` (false makes every cache read from SQL) and reports each numbered
 * change it applied. Has its own two connections, so that heartbeats and acknowledgements
 * never queue behind requests for the shared pool.
 */
export class InstanceRegistry {
  readonly id = randomUUID();
  /** Kysely over this registry's own connections (the writer's wait polls on them too). */
  readonly db: Kysely<Database>;
  /** Since start, for `/metrics`: times the confirmation lapsed (caches then unused until the next heartbeat succeeds). */
  readonly stats = { lapses: 0 };
  #applied = 0;
  /** performance.now() when the last heartbeat that succeeded was sent. */
  #confirmedAt = Number.NEGATIVE_INFINITY;
  #lapsed = false;
  #beating = false;
  #beats = 0;
  #timer: NodeJS.Timeout | undefined;
  #reporting = false;
  #reportAgain = false;
  #stopped = false;

  constructor(
    databaseUrl: string,
    private readonly publish: (change: Change) => void,
    private readonly log: Logger,
  ) {
    const pool = openPool({
      connectionString: databaseUrl,
      max: 2,
      connectionTimeoutMillis: CONFIRMATION_WINDOW_MS,
      // A heartbeat slower than the window vouches for nothing: give up on it (server and client side).
      statement_timeout: CONFIRMATION_WINDOW_MS,
      query_timeout: CONFIRMATION_WINDOW_MS,
      application_name: `tessera-instance:${process.pid}:${hostname()}`.slice(0, 63),
    });
    this.db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }

  /** True while a heartbeat sent less than CONFIRMATION_WINDOW_MS ago succeeded: caches may be trusted. */
  get confirmed(): boolean {
    return performance.now() - this.#confirmedAt < CONFIRMATION_WINDOW_MS;
  }

  /** Registers this instance (after its feed listens: changes numbered after the head it reads are heard), then beats. */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#applied = Number((await this.db.selectFrom('change_sequence').select('seq').where('id', '=', 1).executeTakeFirstOrThrow()).seq);
    if (!(await this.#beat())) throw new Error('could not register this instance in the instances table');
    this.#timer = setInterval(() => void this.#beat(), HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** The change numbered `seq` was applied here (its caches dropped): tell the writers. */
  applied(seq: number): void {
    if (seq <= this.#applied) return;
    this.#applied = seq;
    void this.#report();
  }

  async #report(): Promise<void> {
    if (this.#reporting) {
      this.#reportAgain = true;
      return;
    }
    this.#reporting = true;
    try {
      do {
        this.#reportAgain = false;
        const applied = this.#applied;
        await this.db
          .updateTable('instances')
          .set({ applied_seq: sql`greatest(applied_seq, ${applied})` })
          .where('id', '=', this.id)
          .execute()
          .catch((error: Error) => this.log.debug({ err: error.message }, 'could not record an applied change; the next heartbeat will'));
      } while (this.#reportAgain && !this.#stopped);
    } finally {
      this.#reporting = false;
    }
  }

  /**
   * Writes the heartbeat and the applied number, and reads the head of `change_sequence` in the
   * same statement. Behind the head (a NOTIFY lost, or still on its way), every cache is dropped,
   * which applies whatever was missed. Resolves true when this confirmed the caches.
   */
  async #beat(): Promise<boolean> {
    if (this.#beating || this.#stopped) return false;
    this.#beating = true;
    if (!this.confirmed && !this.#lapsed && this.#confirmedAt > Number.NEGATIVE_INFINITY) {
      this.#lapsed = true;
      this.stats.lapses++;
      this.log.warn(
        { instance: this.id },
        `could not confirm this instance's caches for ${CONFIRMATION_WINDOW_MS} ms (heartbeat failing or late): answering from SQL until caught up`,
      );
    }
    const sentAt = performance.now();
    const applied = this.#applied;
    try {
      const row = await this.db
        .with('beat', (db) =>
          db
            .insertInto('instances')
            .values({ id: this.id, host: hostname(), pid: process.pid, applied_seq: applied })
            .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: sql`now()`, applied_seq: sql`greatest(instances.applied_seq, excluded.applied_seq)` }))
            .returning('id'),
        )
        .selectFrom('change_sequence')
        .select('seq')
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      const head = Number(row.seq);
      if (head > this.#applied) {
        this.publish(EVERYTHING_CHANGED);
        this.applied(head);
      }
      this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
      if (this.#lapsed && this.confirmed) {
        this.#lapsed = false;
        this.log.info({ instance: this.id }, 'caught up: this instance answers from its caches again');
      }
      // At registration, then every SWEEP_EVERY_BEATS beats.
      if (this.#beats++ % SWEEP_EVERY_BEATS === 0) await this.#sweep();
      return true;
    } catch (error) {
      this.log.debug({ err: (error as Error).message }, 'instance heartbeat failed');
      return false;
    } finally {
      this.#beating = false;
    }
  }

  /** Deletes the rows of instances that died without deleting their own. */
  async #sweep(): Promise<void> {
    await this.db
      .deleteFrom('instances')
      .where(sql<boolean>`heartbeat_at < now() - ${FORGET_AFTER_MS} * interval '1 millisecond'`)
      .execute()
      .catch((error: Error) => this.log.debug({ err: error.message }, 'could not sweep stale instances'));
  }

  /** Stops beating and deletes this instance's row, so that writers stop waiting for it at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#confirmedAt = Number.NEGATIVE_INFINITY;
    await this.db
      .deleteFrom('instances')
      .where('id', '=', this.id)
      .execute()
      .catch(() => {});
    await this.db.destroy().catch(() => {});
  }
}
