import { EventEmitter } from 'node:events';
import { sql, type Transaction } from 'kysely';
import type { AuditEntry } from '../audit/audit-event.ts';
import { insertAuditEvent } from '../audit/audit.repository.ts';
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

/** What a unit of work can do besides SQL: record its audit entries and announce what it changed. */
export interface Work {
  readonly trx: Transaction<Database>;
  readonly now: Date;
  audit(entry: AuditEntry): Promise<void>;
  announce(change: Change): void;
}

/**
 * Runs each state change as one transaction that also writes its audit events (no change
 * without its record, no record without its change) and announces what it changed: by
 * NOTIFY inside the transaction on PostgreSQL (delivered to other processes on commit), and
 * to this process's listeners right after commit, before the caller answers.
 */
export class Transactions {
  readonly #emitter = new EventEmitter();

  constructor(
    private readonly storage: Storage,
    private readonly clock: () => Date,
  ) {
    this.#emitter.setMaxListeners(50);
  }

  async run<T>(actor: Actor, fn: (work: Work) => Promise<T>): Promise<T> {
    const changes: Change[] = [];
    const now = this.clock();
    const result = await this.storage.db.transaction().execute(async (trx) => {
      const value = await fn({
        trx,
        now,
        audit: (entry) => insertAuditEvent(trx, now, actor, entry),
        announce: (change) => void changes.push(change),
      });
      if (this.storage.dialect === 'postgres') {
        for (const change of changes) {
          // `at` (epoch ms) lets listeners measure propagation lag (NOTIFY to applied).
          await sql`select pg_notify(${CHANGE_CHANNEL}, ${JSON.stringify({ ...change, at: Date.now() })})`.execute(trx);
        }
      }
      return value;
    });
    for (const change of changes) this.emit(change);
    return result;
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
