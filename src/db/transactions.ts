import { EventEmitter } from 'node:events';
import { sql, type Transaction } from 'kysely';
import type { AuditEntry } from '../audit/audit-event.ts';
import { auditEventsInsert, recordAuditEntry, type RecordedAuditEntry } from '../audit/audit.repository.ts';
import type { Actor } from '../auth/principal.ts';
import type { Storage } from './database.ts';
import type { Database } from './schema.ts';

/** Something whose cached state must be dropped: one record, or (`kind: 'any'`) everything. */
export interface Change {
  kind: 'access-key' | 'user' | 'cloud-account' | 'session' | 'signing-key' | 'any';
  id: string;
}

export const EVERYTHING_CHANGED: Change = Object.freeze({ kind: 'any', id: '*' });

/** The PostgreSQL channel that carries changes between processes. */
export const CHANGE_CHANNEL = 'tessera_changes';

/**
 * What a unit of work can do besides SQL: record its audit entries and announce what it
 * changed. Both are written when the unit's function returns, in its transaction, in one
 * statement (on PostgreSQL with the NOTIFYs: one round trip for all of them); an entry is
 * written as it was when recorded.
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
 * without its record, no record without its change) and announces what it changed: by
 * NOTIFY inside the transaction on PostgreSQL (delivered to other processes on commit), and
 * to this process's listeners right after commit, before the caller answers.
 *
 * PostgreSQL runs each unit in a transaction of its own. SQLite has a single writer, and its
 * commit costs more than most units (every B-tree page a unit touched is written to the WAL
 * again): units queued in the same event-loop turn, or while a group is running, share a
 * transaction (group commit), each inside its own savepoint, so a unit that fails is rolled
 * back alone and the others are kept. The units of a group run one after another, each
 * seeing those before it; each caller is answered once the group has committed, and if the
 * commit fails, every unit of the group fails and nothing of it is kept.
 */
export class Transactions {
  readonly #emitter = new EventEmitter();
  readonly #queue: QueuedUnit[] = [];
  #draining = false;
  /** Groups committed and the units they held, since start (SQLite). Counting only. */
  readonly groupStats = { groups: 0, units: 0 };

  constructor(
    private readonly storage: Storage,
    private readonly clock: () => Date,
  ) {
    this.#emitter.setMaxListeners(50);
  }

  async run<T>(actor: Actor, fn: (work: Work) => Promise<T>): Promise<T> {
    if (this.storage.dialect === 'sqlite') {
      return new Promise<T>((resolve, reject) => {
        this.#queue.push({ actor, now: this.clock(), fn, resolve: resolve as (value: unknown) => void, reject });
        if (!this.#draining) void this.#drain();
      });
    }
    const now = this.clock();
    const { value, changes } = await this.storage.db.transaction().execute(async (trx) => {
      const unit = this.#unit(trx, now);
      const value = await fn(unit.work);
      await this.#write(trx, now, actor, unit);
      for (const write of unit.beforeCommit) await write(trx);
      return { value, changes: unit.changes };
    });
    for (const change of changes) this.emit(change);
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

  /** Writes what a unit recorded: its audit entries, and on PostgreSQL its NOTIFYs, in one statement. */
  async #write(trx: Transaction<Database>, now: Date, actor: Actor, { entries, changes }: UnitRecord): Promise<void> {
    const audit = entries.length > 0 ? auditEventsInsert(trx, now, actor, entries) : undefined;
    if (this.storage.dialect === 'sqlite' || changes.length === 0) {
      await audit?.execute();
      return;
    }
    // `at` (epoch ms) lets listeners measure propagation lag (NOTIFY to applied).
    const notices = changes.map((change, i) => sql`pg_notify(${CHANGE_CHANNEL}, ${JSON.stringify({ ...change, at: Date.now() })})`.as(`n${i}`));
    // A data-modifying WITH runs whether or not the select reads it.
    await (audit === undefined ? trx.selectNoFrom(notices) : trx.with('audit', () => audit.returning('id')).selectNoFrom(notices)).execute();
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
    try {
      await this.storage.db.transaction().execute(async (trx) => {
        while (this.#queue.length > 0 && kept.length + failed.length < GROUP_MAX_UNITS && (current === undefined || performance.now() - started < GROUP_MAX_MS)) {
          const unit = this.#queue.shift() as QueuedUnit;
          current = unit;
          await sql`savepoint unit`.execute(trx);
          try {
            const record = this.#unit(trx, unit.now);
            const value = await unit.fn(record.work);
            await this.#write(trx, unit.now, unit.actor, record);
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
    this.groupStats.units += kept.length + failed.length;
    for (const { unit, value, record } of kept) {
      for (const change of record.changes) this.emit(change);
      unit.resolve(value);
    }
    for (const { unit, error } of failed) unit.reject(error);
  }

  /** Delivers a change to this process's listeners (also used for changes heard from other processes). */
  emit(change: Change): void {
    this.#emitter.emit('change', change);
  }

  onChange(listener: (change: Change) => void): () => void {
    this.#emitter.on('change', listener);
    return () => this.#emitter.off('change', listener);
  }
}
