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
 * Groups written per statement (one JSON parameter). SQLite writes on the event loop's thread,
 * so its batches stay small enough to let requests through between them.
 */
const FLUSH_BATCH: Record<Dialect, number> = { sqlite: 500, postgres: 1000 };

interface Pending {
  count: number;
  firstMs: number;
  lastMs: number;
}

/**
 * Pending counts as a tree: hour → key → route → method → status → address → account ('' for
 * none). A request walks it with map lookups on strings it already has (the route template and
 * the key id are the same string objects every time, their hashes cached): about 150 ns a
 * request, against 450 ns for building and hashing one compound key.
 */
type Level<T> = Map<string | number, T>;
type Tree = Level<Level<Level<Level<Level<Level<Level<Pending>>>>>>>;

function child<T extends Map<string | number, unknown>>(level: Level<T>, key: string | number): T {
  let next = level.get(key);
  if (next === undefined) {
    next = new Map() as T;
    level.set(key, next);
  }
  return next;
}

/** The counts of one hour, key, route, method, status and address, by account. */
function accountsOf(tree: Tree, hourMs: number, keyId: string, route: string, method: string, status: number, ip: string): Level<Pending> {
  return child(child(child(child(child(child(tree, hourMs), keyId), route), method), status), ip);
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
  #pending: Tree = new Map();
  #groups = 0;
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
    const byAccount = accountsOf(this.#pending, ms - (ms % HOUR_MS), request.keyId, request.route, request.method, request.status, request.ip);
    const account = request.accountId ?? '';
    const entry = byAccount.get(account);
    if (entry === undefined) {
      byAccount.set(account, { count: 1, firstMs: ms, lastMs: ms });
      this.#groups++;
      return;
    }
    entry.count++;
    if (ms < entry.firstMs) entry.firstMs = ms;
    if (ms > entry.lastMs) entry.lastMs = ms;
  }

  /** Groups with counts not yet written. */
  get pendingGroups(): number {
    return this.#groups;
  }

  /** The start of the kept window: the hour `days` days before now. */
  since(): string {
    const ms = this.clock().getTime() - this.days * 24 * HOUR_MS;
    return new Date(ms - (ms % HOUR_MS)).toISOString();
  }

  /** A key's activity since `since` (the kept window by default), the latest first. */
  list(keyId: string, since: string = this.since()): Promise<ActivityGroup[]> {
    return listKeyActivity(this.db, keyId, since, MAX_ACTIVITY_ITEMS);
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
    if (this.#groups === 0) return;
    const taken = groupsOf(this.#pending);
    this.#pending = new Map();
    this.#groups = 0;
    const size = FLUSH_BATCH[this.dialect];
    for (let i = 0; i < taken.length; i += size) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      try {
        await addKeyActivity(this.db, this.dialect, taken.slice(i, i + size));
      } catch (error) {
        // Nothing of this batch or the rest was written: count it again next time.
        for (const group of taken.slice(i)) this.#restore(group);
        if (!isDatabaseUnavailable(error)) this.log.warn({ err: error, groups: taken.length - i }, 'key activity flush failed; will retry');
        throw error;
      }
    }
  }

  #restore(group: ActivityGroup): void {
    const firstMs = Date.parse(group.firstSeen);
    const lastMs = Date.parse(group.lastSeen);
    const byAccount = accountsOf(this.#pending, Date.parse(group.hour), group.keyId, group.route, group.method, group.status, group.ip);
    const entry = byAccount.get(group.accountId);
    if (entry === undefined) {
      byAccount.set(group.accountId, { count: group.count, firstMs, lastMs });
      this.#groups++;
      return;
    }
    entry.count += group.count;
    entry.firstMs = Math.min(entry.firstMs, firstMs);
    entry.lastMs = Math.max(entry.lastMs, lastMs);
  }
}

/**
 * The tree's groups in primary-key order (key, hour, method, route, status, address, account),
 * so that instances flushing at once take row locks in the same order.
 */
function groupsOf(tree: Tree): ActivityGroup[] {
  const groups: Array<{ group: ActivityGroup; order: string }> = [];
  for (const [hourMs, byKey] of tree)
    for (const [keyId, byRoute] of byKey)
      for (const [route, byMethod] of byRoute)
        for (const [method, byStatus] of byMethod)
          for (const [status, byIp] of byStatus)
            for (const [ip, byAccount] of byIp)
              for (const [accountId, p] of byAccount) {
                const group: ActivityGroup = {
                  keyId: String(keyId),
                  hour: new Date(Number(hourMs)).toISOString(),
                  method: String(method),
                  route: String(route),
                  status: Number(status),
                  ip: String(ip),
                  accountId: String(accountId),
                  count: p.count,
                  firstSeen: new Date(p.firstMs).toISOString(),
                  lastSeen: new Date(p.lastMs).toISOString(),
                };
                // The key's columns joined by NUL, which none of them holds: comparing these
                // strings orders the groups as comparing their columns one by one would.
                const order = [group.keyId, group.hour, group.method, group.route, String(group.status).padStart(3, '0'), group.ip, group.accountId].join('\u0000');
                groups.push({ group, order });
              }
  return groups.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0)).map((g) => g.group);
}
