import { sql, type Transaction } from 'kysely';
import type { AuditEntry } from '../audit/audit-event.ts';
import { auditEventsInsert, recordAuditEntry, type RecordedAuditEntry } from '../audit/audit.public.ts';
import type { Actor } from '../auth/principal.ts';
import type { Change } from '../changes/change.ts';
import type { ChangeBus } from '../changes/change-bus.ts';
import type { Storage } from './database.ts';
import type { Database } from './schema.ts';

/**
 * What a unit of work can do besides SQL: record its audit entries and announce what it
 * changed (on the change bus, src/changes/). Both are written when the unit's function
 * returns, in its transaction, in one statement (on PostgreSQL with the NOTIFYs: one round
 * trip for all of them); an entry is written as it was when recorded.
 */
export interface Work {
  readonly trx: Transaction<Database>;
  readonly now: Date;
  audit(entry: AuditEntry): void;
  announce(change: Change): void;
  /**
   * A write to make after the unit's own, in its transaction, just before the commit: on
   * SQLite after every unit of the group, outside their savepoints. For an FTS5 table, which
   * writes out its pending index at every savepoint and every statement that may need undoing.
   * Dropped with the unit if the unit fails; if the write fails, nothing of the transaction is kept.
   */
  beforeCommit(write: (trx: Transaction<Database>) => Promise<void>): void;
}

export interface RunOptions {
  /**
   * The unit removes or reduces access (a key or user removed, roles edited, a session ended)
   * or changes what every instance must show at once (a cloud account added or removed). Its
   * caller is answered only when the unit is durable (SQLite: its group commits with
   * `synchronous = FULL`, the WAL synced) and, on PostgreSQL, applied by every live instance
   * or the acknowledgement bound has passed (see src/changes/instances.ts).
   */
  reducesAccess?: boolean;
}

/** A unit's Work and what it recorded there. */
interface UnitRecord {
  work: Work;
  entries: RecordedAuditEntry[];
  changes: Change[];
  beforeCommit: Array<(trx: Transaction<Database>) => Promise<void>>;
}

/** A unit of work waiting for the SQLite writer. */
interface QueuedUnit {
  actor: Actor;
  reducesAccess: boolean;
  now: Date;
  fn: (work: Work) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Units that share one SQLite transaction at most, and how long a group keeps taking more. */
const GROUP_MAX_UNITS = 32;
const GROUP_MAX_MS = 2;

/**
 * Runs each state change as a unit of work that also writes its audit events (no change
 * without its record, no record without its change) and hands what it changed to the change
 * bus: inside the transaction (on PostgreSQL, NOTIFYs delivered to other processes on commit)
 * and to this process's subscribers right after commit, before the caller answers.
 *
 * PostgreSQL runs each unit in a transaction of its own. SQLite has a single writer, and its
 * commit costs more than most units (every B-tree page a unit touched is written to the WAL
 * again): units queued in the same event-loop turn, or while a group is running, share a
 * transaction (group commit), each inside its own savepoint, so a unit that fails is rolled
 * back alone and the others are kept. The units of a group run one after another, each
 * seeing those before it; each caller is answered once the group has committed, and if the
 * commit fails, every unit of the group fails and nothing of it is kept. A group holding an
 * access-reducing unit commits with `synchronous = FULL`; the others keep the connection's
 * NORMAL (durable through a process crash, not an OS crash), which costs no fsync.
 */
export class Transactions {
  readonly #queue: QueuedUnit[] = [];
  #draining = false;
  /** Groups committed and the units they held, since start (SQLite). Counting only. */
  readonly groupStats = { groups: 0, units: 0, durableGroups: 0 };

  constructor(
    private readonly storage: Storage,
    private readonly clock: () => Date,
    private readonly changes: ChangeBus,
  ) {}

  async run<T>(actor: Actor, fn: (work: Work) => Promise<T>, options: RunOptions = {}): Promise<T> {
    const reducesAccess = options.reducesAccess === true;
    if (this.storage.dialect === 'sqlite') {
      return new Promise<T>((resolve, reject) => {
        this.#queue.push({ actor, reducesAccess, now: this.clock(), fn, resolve: resolve as (value: unknown) => void, reject });
        if (!this.#draining) void this.#drain();
      });
    }
    const now = this.clock();
    const { value, changes, seq } = await this.storage.db.transaction().execute(async (trx) => {
      const unit = this.#unit(trx, now);
      const value = await fn(unit.work);
      const seq = await this.#write(trx, now, actor, unit, reducesAccess);
      for (const write of unit.beforeCommit) await write(trx);
      return { value, changes: unit.changes, seq };
    });
    for (const change of changes) this.changes.publish(change);
    if (seq !== undefined) await this.changes.acknowledged(seq);
    return value;
  }

  #unit(trx: Transaction<Database>, now: Date): UnitRecord {
    const entries: RecordedAuditEntry[] = [];
    const changes: Change[] = [];
    const beforeCommit: UnitRecord['beforeCommit'] = [];
    const work: Work = {
      trx,
      now,
      audit: (entry) => void entries.push(recordAuditEntry(entry)),
      announce: (change) => void changes.push(change),
      beforeCommit: (write) => void beforeCommit.push(write),
    };
    return { work, entries, changes, beforeCommit };
  }

  /**
   * Writes what a unit recorded: its audit entries and, in the same statement, what tells other
   * processes of its changes. Returns the change number an access-reducing unit waits for.
   */
  #write(trx: Transaction<Database>, now: Date, actor: Actor, { entries, changes }: UnitRecord, reducesAccess: boolean): Promise<number | undefined> {
    const audit = entries.length > 0 ? auditEventsInsert(trx, now, actor, entries) : undefined;
    return this.changes.notifyInStatement(trx, changes, reducesAccess, audit);
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      // SQLite runs a whole unit without yielding to the event loop: waiting for the end of this
      // turn lets the other requests read in it queue their units for the same transaction.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.#queue.length > 0) await this.#commitGroup();
    } finally {
      this.#draining = false;
    }
  }

  async #commitGroup(): Promise<void> {
    const kept: Array<{ unit: QueuedUnit; value: unknown; record: UnitRecord }> = [];
    const failed: Array<{ unit: QueuedUnit; error: unknown }> = [];
    let current: QueuedUnit | undefined;
    const started = performance.now();
    // SQLite refuses to change `synchronous` inside a transaction, so the group's durability is
    // chosen before it begins: FULL when one of the units it will take reduces access. A NORMAL
    // group stops before an access-reducing unit that queues meanwhile; a FULL one takes any.
    const durable = this.#queue.slice(0, GROUP_MAX_UNITS).some((unit) => unit.reducesAccess);
    try {
      // One connection for the pragmas and the transaction between them.
      await this.storage.db.connection().execute(async (db) => {
        const normal = durable ? (await sql<{ synchronous: number }>`pragma synchronous`.execute(db)).rows[0]?.synchronous : undefined;
        if (durable) await sql`pragma synchronous = full`.execute(db);
        try {
          await db.transaction().execute(async (trx) => {
            while (
              this.#queue.length > 0 &&
              kept.length + failed.length < GROUP_MAX_UNITS &&
              (current === undefined || performance.now() - started < GROUP_MAX_MS) &&
              (durable || !(this.#queue[0] as QueuedUnit).reducesAccess)
            ) {
              const unit = this.#queue.shift() as QueuedUnit;
              current = unit;
              await sql`savepoint unit`.execute(trx);
              try {
                const record = this.#unit(trx, unit.now);
                const value = await unit.fn(record.work);
                await this.#write(trx, unit.now, unit.actor, record, unit.reducesAccess);
                kept.push({ unit, value, record });
              } catch (error) {
                // If SQLite already ended the transaction (it rolls back the whole of it on SQLITE_FULL,
                // an I/O error, ...), this throws and the whole group fails, for this unit's reason.
                await sql`rollback to unit`.execute(trx).catch(() => {
                  throw error;
                });
                failed.push({ unit, error });
              }
              await sql`release unit`.execute(trx);
            }
            current = undefined;
            for (const { record } of kept) for (const write of record.beforeCommit) await write(trx);
          });
        } finally {
          if (normal !== undefined) await sql.raw(`pragma synchronous = ${Number(normal)}`).execute(db);
        }
      });
    } catch (error) {
      // Nothing of this group was committed: every unit in it fails (a unit's own error first).
      for (const { unit } of kept) unit.reject(error);
      for (const { unit, error: own } of failed) unit.reject(own);
      if (current !== undefined) current.reject(error);
      // A transaction that failed before taking any unit fails the next one, so the queue moves.
      else if (kept.length + failed.length === 0) this.#queue.shift()?.reject(error);
      return;
    }
    this.groupStats.groups++;
    if (durable) this.groupStats.durableGroups++;
    this.groupStats.units += kept.length + failed.length;
    for (const { unit, value, record } of kept) {
      for (const change of record.changes) this.changes.publish(change);
      unit.resolve(value);
    }
    for (const { unit, error } of failed) unit.reject(error);
  }
}
