import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/availability.ts';
import type { Db, Dialect } from '../db/database.ts';
import { type ActivityGroup, addKeyActivity, listKeyActivity, pruneKeyActivity, summarizeKeyActivity } from './key-activity.repository.ts';

const HOUR_MS = 60 * 60 * 1000;
/** How often the retention sweep runs (cluster-wide, once). */
export const ACTIVITY_PRUNE_INTERVAL_MS = HOUR_MS;
export const ACTIVITY_PRUNE_JOB = 'key-activity-retention';
/** The most groups one activity answer holds (the latest): a month of a busy key fits. */
export const MAX_ACTIVITY_ITEMS = 5000;
/**
 * Groups written per statement: each is ten bound parameters, and SQLite writes on the event
 * loop's thread, so its batches stay small with requests let through between them.
 */
const FLUSH_BATCH: Record<Dialect, number> = { sqlite: 100, postgres: 500 };
/** Between the fields of a group's map key: a byte no method, route, address or id contains. */
const SEP = '\u0000';

interface Pending {
  count: number;
  firstMs: number;
  lastMs: number;
}

/** One request as the activity record sees it. */
export interface ActivityRequest {
  keyId: string;
  method: string;
  /** The route template, `/api/v1/assets/{id}`. */
  route: string;
  status: number;
  ip: string;
  /** The request's cloud account, when it had one. */
  accountId: string | undefined;
}

/**
 * What each access key did: requests grouped by hour, method, route template, status, client
 * address and cloud account. Like `KeyUsage`, a request only bumps a counter in memory (no I/O,
 * no promise); `flush()` adds the sums to the stored groups in batches with additive SQL, so
 * instances add up, and a failed flush keeps its counts for the next. Kept `days` days.
 */
export class KeyActivity {
  /** The instance-scope job that flushes this instance's counts (every instance flushes its own). */
  readonly jobName = `activity-flush:${randomUUID()}`;
  #pending = new Map<string, Pending>();
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
    private readonly log: Logger,
    private readonly clock: () => Date,
    /** How many days of activity are kept (TESSERA_KEY_ACTIVITY_DAYS). */
    readonly days: number,
  ) {}

  /** Counts one request: O(1), no I/O. */
  record(request: ActivityRequest, at: Date): void {
    const ms = at.getTime();
    const hourMs = ms - (ms % HOUR_MS);
    const key = `${request.keyId}${SEP}${hourMs}${SEP}${request.method}${SEP}${request.route}${SEP}${request.status}${SEP}${request.ip}${SEP}${request.accountId ?? ''}`;
    const entry = this.#pending.get(key);
    if (entry === undefined) {
      this.#pending.set(key, { count: 1, firstMs: ms, lastMs: ms });
      return;
    }
    entry.count++;
    if (ms < entry.firstMs) entry.firstMs = ms;
    if (ms > entry.lastMs) entry.lastMs = ms;
  }

  /** Groups with counts not yet written. */
  get pendingGroups(): number {
    return this.#pending.size;
  }

  /** The start of the kept window: the hour `days` days before now. */
  since(): string {
    const ms = this.clock().getTime() - this.days * 24 * HOUR_MS;
    return new Date(ms - (ms % HOUR_MS)).toISOString();
  }

  /** A key's activity in the kept window, the latest first. */
  list(keyId: string): Promise<ActivityGroup[]> {
    return listKeyActivity(this.db, keyId, this.since(), MAX_ACTIVITY_ITEMS);
  }

  /** A key's activity in the kept window summed over hours and addresses. */
  summarize(keyId: string): ReturnType<typeof summarizeKeyActivity> {
    return summarizeKeyActivity(this.db, keyId, this.since());
  }

  /** Deletes activity older than the window and that of removed keys (a cluster job). */
  prune(): Promise<number> {
    return pruneKeyActivity(this.db, this.since());
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
    const taken = [...this.#pending].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#pending = new Map();
    const size = FLUSH_BATCH[this.dialect];
    for (let i = 0; i < taken.length; i += size) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = taken.slice(i, i + size).map(([key, p]) => toGroup(key, p));
      try {
        await addKeyActivity(this.db, batch);
      } catch (error) {
        // Nothing of this batch or the rest was written: count it again next time.
        for (const [key, p] of taken.slice(i)) this.#restore(key, p);
        if (!isDatabaseUnavailable(error)) this.log.warn({ err: error, groups: taken.length - i }, 'key activity flush failed; will retry');
        throw error;
      }
    }
  }

  #restore(key: string, p: Pending): void {
    const entry = this.#pending.get(key);
    if (entry === undefined) {
      this.#pending.set(key, p);
      return;
    }
    entry.count += p.count;
    entry.firstMs = Math.min(entry.firstMs, p.firstMs);
    entry.lastMs = Math.max(entry.lastMs, p.lastMs);
  }
}

function toGroup(key: string, p: Pending): ActivityGroup {
  const [keyId = '', hourMs = '0', method = '', route = '', status = '0', ip = '', accountId = ''] = key.split(SEP);
  return {
    keyId,
    hour: new Date(Number(hourMs)).toISOString(),
    method,
    route,
    status: Number(status),
    ip,
    accountId,
    count: p.count,
    firstSeen: new Date(p.firstMs).toISOString(),
    lastSeen: new Date(p.lastMs).toISOString(),
  };
}
