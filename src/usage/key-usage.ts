import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/availability.ts';
import type { Dialect } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { addKeyUsage, type UsageDelta } from './key-usage.repository.ts';

/**
 * How often each instance writes what it counted. Every key used since the last flush costs a
 * row update (and an index entry moved): the longer the interval, the more uses share one write.
 * `lastUsedAt` in the API lags by at most this much; a crash loses at most this much counting.
 */
export const USAGE_FLUSH_INTERVAL_MS = 10_000;
/**
 * Keys written per transaction. SQLite writes on the event loop's own thread: a batch holds up
 * every request for its duration, so batches stay small and the flush lets requests through
 * between them.
 */
const FLUSH_BATCH: Record<Dialect, number> = { sqlite: 100, postgres: 500 };

interface Pending {
  count: number;
  lastMs: number;
  lastIp: string;
}

/**
 * Per-key usage (`useCount`, `lastUsedAt`, `lastUsedIp`) without a database write per
 * request: each successful API-key request only updates a counter in memory; `flush()`
 * writes the sums in batches (every ten seconds, and at shutdown) with additive SQL, so the
 * figures from many instances add up. A failed flush keeps its counts for the next one.
 */
export class KeyUsage {
  /**
   * The scheduler job that flushes this instance's counts: an instance-scope job, run on every
   * instance without the cluster lock, since each must flush what it counted and the SQL adds.
   */
  readonly jobName = `usage-flush:${randomUUID()}`;
  #pending = new Map<string, Pending>();
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly log: Logger,
  ) {}

  /** The access-key authenticator's use listener: O(1), no I/O. */
  readonly record = (keyId: string, ip: string, at: Date): void => {
    const ms = at.getTime();
    const entry = this.#pending.get(keyId);
    if (entry === undefined) {
      this.#pending.set(keyId, { count: 1, lastMs: ms, lastIp: ip });
      return;
    }
    entry.count++;
    if (ms >= entry.lastMs) {
      entry.lastMs = ms;
      entry.lastIp = ip;
    }
  };

  /** Keys with counts not yet written. */
  get pendingKeys(): number {
    return this.#pending.size;
  }

  /** Writes what was counted since the last flush. Concurrent calls share one run. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const taken = this.#pending;
    this.#pending = new Map();
    // Sorted by key id, so that instances flushing at once lock rows in the same order.
    const deltas: UsageDelta[] = [...taken]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([keyId, p]) => ({ keyId, count: p.count, lastUsedAt: new Date(p.lastMs).toISOString(), lastUsedIp: p.lastIp }));
    const size = FLUSH_BATCH[this.dialect];
    for (let i = 0; i < deltas.length; i += size) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = deltas.slice(i, i + size);
      try {
        await this.db.transaction().execute((trx) => addKeyUsage(trx, this.dialect, batch));
      } catch (error) {
        // Nothing of this batch or the rest was written: count it again next time.
        for (const delta of deltas.slice(i)) this.#restore(delta);
        // A database outage is reported (once) by whoever catches it; anything else is logged here.
        if (!isDatabaseUnavailable(error)) this.log.warn({ err: error, keys: deltas.length - i }, 'key usage flush failed; will retry');
        throw error;
      }
    }
  }

  #restore(delta: UsageDelta): void {
    const ms = Date.parse(delta.lastUsedAt);
    const entry = this.#pending.get(delta.keyId);
    if (entry === undefined) {
      this.#pending.set(delta.keyId, { count: delta.count, lastMs: ms, lastIp: delta.lastUsedIp });
      return;
    }
    entry.count += delta.count;
    if (ms > entry.lastMs) {
      entry.lastMs = ms;
      entry.lastIp = delta.lastUsedIp;
    }
  }
}
