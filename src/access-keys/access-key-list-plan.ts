import { BoundedCache } from '../util/bounded-cache.ts';

/**
 * How the access-keys list reads a page: the choices that depend on the dialect and on how
 * many keys a filter matches. Everything else about the list is fixed SQL (the repository).
 *
 * A status or name filter can be served two ways: walk the sort index and skip the keys that do
 * not match (cheap when many match), or read the matches from their own index (the expiry
 * index; the trigram index) and sort them (cheap when few match, and the only cheap way when
 * none do). Neither planner knows which at scale, so the list first counts the matches, capped
 * at the threshold that decides (countsNeeded), and chooses (choosePlan). A role filter needs no
 * choice: `role_set` is in every sort index, so a walk checks it there. Nor does `disabled`:
 * disabled keys are few, and have a partial index of their own (migration 2026-12-07T55). Nor
 * does `expiring` in creation order, read from its own index by expiry day (byExpiryDay).
 */
export type ListDialect = 'sqlite' | 'postgres';

export interface ListShape {
  dialect: ListDialect;
  sort: 'createdAt' | 'name' | 'expiresAt' | 'lastUsedAt' | 'role';
  status: 'active' | 'expired' | 'expiring' | 'disabled' | undefined;
  role: boolean;
  /** The name filter as compared (name key), or undefined. */
  name: string | undefined;
  /** With `expiring`: the window's length in days. */
  windowDays: number | undefined;
}

/** The longest `expiring` window read day by day: a day's read per page costs about as much as a short walk. */
export const EXPIRY_DAYS_READ = 31;

/**
 * `expiring` in creation order, without a name filter, over a window of up to EXPIRY_DAYS_READ
 * days: keys expire a set period after creation, so in creation order they sit in runs with long
 * gaps between them (a walk of the creation index crosses a gap key by key), and the window holds
 * too many keys to read and sort whole for every page. Their index by expiry day, then creation
 * (migration 2026-12-07T85), gives each day's keys in creation order from the cursor: a page from
 * each day, merged. A name filter is left to its own plan (the index does not hold names).
 */
function byExpiryDay(shape: ListShape): boolean {
  return shape.status === 'expiring' && shape.sort === 'createdAt' && shape.name === undefined && (shape.windowDays ?? Infinity) <= EXPIRY_DAYS_READ;
}

/** Above this many keys in a status's expiry range, a list walks its sort index. */
export const DENSE_STATUS = 2000;
/**
 * SQLite, in creation order without a role or name filter: the range is read from an index of
 * (expiry, creation, id) alone (migration 2026-12-03T01), and in creation order a status's keys
 * sit in runs with long gaps, which makes the walk the gamble; so the range read wins longer.
 */
export const DENSE_STATUS_BY_CREATION = 50_000;
/** SQLite: above this many keys matching a name filter, a list walks its sort index. */
export const DENSE_NAME = 2000;
/** SQLite: the same for a filter of 1–2 characters, whose count no trigram index serves. */
export const DENSE_SHORT_NAME = 500;

/** True when the text has 3 characters in a row that a trigram index can look up. */
export function hasTrigram(text: string): boolean {
  return text.split(/[[*?]/).some((run) => [...run].length >= 3);
}

/** The capped counts a shape's plan depends on (none: the plan is fixed). */
export function countsNeeded(shape: ListShape): { statusCap?: number; nameCap?: number } {
  const needed: { statusCap?: number; nameCap?: number } = {};
  if (shape.status !== undefined && shape.status !== 'disabled' && shape.sort !== 'expiresAt' && !byExpiryDay(shape)) {
    const byCreation = shape.dialect === 'sqlite' && shape.sort === 'createdAt' && !shape.role && shape.name === undefined;
    needed.statusCap = byCreation ? DENSE_STATUS_BY_CREATION : DENSE_STATUS;
  }
  // PostgreSQL's planner, knowing the column's statistics, chooses between pg_trgm's GIN index
  // and the sort index well; counting first would cost more (a GIN scan reads every match).
  if (shape.name !== undefined && shape.dialect === 'sqlite') needed.nameCap = hasTrigram(shape.name) ? DENSE_NAME : DENSE_SHORT_NAME;
  return needed;
}

export interface ListPlan {
  /**
   * `sort-column`: sorted by expiry, the sort index is the expiry index. `checked-in-sort-index`:
   * the walk tests `expires_at || ''`, which every sort index carries. `read-range`: the range is
   * read from the expiry index and sorted. `read-disabled`: the disabled keys are read from their
   * partial index, the expired among them dropped, and sorted. `by-expiry-day`: `expiring` read
   * from the index of enabled keys by expiry day, a page from each day (byExpiryDay). (`active`
   * and `expiring` exclude the disabled keys in the other plans by row key, which every index
   * entry holds.)
   */
  status: 'none' | 'sort-column' | 'checked-in-sort-index' | 'read-range' | 'read-disabled' | 'by-expiry-day';
  /**
   * `like`: `name_key like`, tested in the walked sort index (SQLite), or left to the planner
   * (PostgreSQL: sort index or GIN). `trigram`: the matches looked up in the FTS5 trigram table.
   * `name-index-scan`: too short for trigrams and rare, so the name index is scanned for them.
   */
  name: 'none' | 'like' | 'trigram' | 'name-index-scan';
  /**
   * `by-row-key`: the walk picks the page's keys, which are then read by row key (SQLite's
   * rowid, which every index entry holds; PostgreSQL's id). `from-scan`: PostgreSQL with nothing
   * to test in an index, where the walk reads the rows itself.
   */
  rows: 'from-scan' | 'by-row-key';
}

/** The plan for a shape, given the capped counts countsNeeded asked for. */
export function choosePlan(shape: ListShape, counts: { status?: number; name?: number }): ListPlan {
  const needed = countsNeeded(shape);
  let status: ListPlan['status'] = 'none';
  if (shape.status !== undefined) {
    if (shape.status === 'disabled') status = 'read-disabled';
    else if (shape.sort === 'expiresAt') status = 'sort-column';
    else if (byExpiryDay(shape)) status = 'by-expiry-day';
    else status = (counts.status ?? 0) < (needed.statusCap ?? 0) ? 'read-range' : 'checked-in-sort-index';
  }
  let name: ListPlan['name'] = 'none';
  if (shape.name !== undefined) {
    if (needed.nameCap === undefined || (counts.name ?? 0) >= needed.nameCap) name = 'like';
    else name = hasTrigram(shape.name) ? 'trigram' : 'name-index-scan';
  }
  const rows = shape.dialect === 'postgres' && status === 'none' && name === 'none' ? 'from-scan' : 'by-row-key';
  return { status, name, rows };
}

/**
 * Capped counts remembered for a minute per filter: a count costs milliseconds of every page
 * over many keys, the walk that follows far less. A count only picks the plan, never the rows,
 * so an outdated one costs time, not correctness. One instance per list owner (the service).
 */
export class RememberedCounts {
  readonly #known = new BoundedCache<string, { n: number; until: number }>(256);

  constructor(private readonly ttlMs = 60_000) {}

  async get(filter: string, count: () => Promise<number>): Promise<number> {
    const now = Date.now();
    const remembered = this.#known.get(filter);
    if (remembered !== undefined && remembered.until > now) return remembered.n;
    const n = await count();
    this.#known.set(filter, { n, until: now + this.ttlMs });
    return n;
  }
}
