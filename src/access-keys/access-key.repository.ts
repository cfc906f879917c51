import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AccessKeyRow, NewAccessKeyRow } from '../db/schema.ts';
import { parseStoredGrants } from '../auth/grants.ts';
import { ROLES, type Grant, type Role } from '../auth/permissions.ts';
import { nameKey, statusAt, type AccessKey, type DisabledReason } from './access-key.ts';
import type { KeyRateLimit } from './access-key-guards.ts';
import { BoundedCache } from '../util/bounded-cache.ts';

/** PostgreSQL or SQLite: where the two plan differently. */
function onPostgres(db: Db): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export function rowToAccessKey(row: AccessKeyRow, now: Date): AccessKey {
  return {
    id: row.id,
    name: row.name,
    roles: parseStoredGrants(row.roles),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    lastUsedIp: row.last_used_ip,
    useCount: Number(row.use_count),
    status: statusAt(row.expires_at, row.disabled_at, now),
    description: row.description ?? null,
    createdBy: row.created_by ?? null,
    previousTokenExpiresAt: row.previous_token_expires_at !== null && Date.parse(row.previous_token_expires_at) > now.getTime() ? row.previous_token_expires_at : null,
    allowedCidrs: storedAllowedCidrs(row.allowed_cidrs),
    rateLimit: storedRateLimit(row),
  };
}

/** The allowlist column as a list (null: any address, the empty list). */
export function storedAllowedCidrs(stored: string | null): string[] {
  return stored === null ? [] : (JSON.parse(stored) as string[]);
}

/** The rate limit columns as a limit, or null when the key has none. */
export function storedRateLimit(row: Pick<AccessKeyRow, 'rate_limit_requests' | 'rate_limit_per_seconds'>): KeyRateLimit | null {
  return row.rate_limit_requests === null || row.rate_limit_per_seconds === null
    ? null
    : { requests: Number(row.rate_limit_requests), perSeconds: Number(row.rate_limit_per_seconds) };
}

/** The columns that hold an allowlist and a rate limit. */
export function guardColumns(allowedCidrs: readonly string[], rateLimit: KeyRateLimit | null) {
  return {
    allowed_cidrs: allowedCidrs.length === 0 ? null : JSON.stringify(allowedCidrs),
    rate_limit_requests: rateLimit?.requests ?? null,
    rate_limit_per_seconds: rateLimit?.perSeconds ?? null,
  };
}

/** Replaces a key's allowlist and rate limit (guardColumns). */
export async function updateAccessKeyGuards(db: Db, id: string, columns: ReturnType<typeof guardColumns>): Promise<void> {
  await db.updateTable('access_keys').set(columns).where('id', '=', id).execute();
}

/** Inserts a key; on SQLite its name goes into the trigram table separately (indexAccessKeyNames). */
export async function insertAccessKey(db: Db, row: NewAccessKeyRow): Promise<void> {
  await db.insertInto('access_keys').values(row).execute();
}

/** Rows of the trigram table per statement (two parameters each). */
const NAME_INDEX_CHUNK = 500;

/**
 * SQLite: puts keys' names into the trigram table behind the name filter (migration
 * 2026-12-03T00: written here, not by a trigger). A key created through a unit of work
 * passes this to `work.beforeCommit`, so that a group commit writes the table once.
 * PostgreSQL's trigram index is kept by PostgreSQL.
 */
export async function indexAccessKeyNames(db: Db, rows: ReadonlyArray<Pick<NewAccessKeyRow, 'id' | 'name_key'>>): Promise<void> {
  if (onPostgres(db)) return;
  for (let i = 0; i < rows.length; i += NAME_INDEX_CHUNK) {
    const values = rows.slice(i, i + NAME_INDEX_CHUNK).map((row) => sql`(${row.name_key}, ${row.id})`);
    await sql`insert into access_keys_name_fts (name_key, id) values ${sql.join(values)}`.execute(db);
  }
}

export async function findAccessKeyRow(db: Db, id: string): Promise<AccessKeyRow | undefined> {
  return db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findAccessKeyRowByNameKey(db: Db, nameKey: string): Promise<AccessKeyRow | undefined> {
  return db.selectFrom('access_keys').selectAll().where('name_key', '=', nameKey).executeTakeFirst();
}

export async function updateAccessKeyRoles(db: Db, id: string, roles: Grant[]): Promise<void> {
  await db
    .updateTable('access_keys')
    .set({ roles: JSON.stringify(roles) })
    .where('id', '=', id)
    .execute();
}

export async function updateAccessKeyDescription(db: Db, id: string, description: string | null): Promise<void> {
  await db.updateTable('access_keys').set({ description }).where('id', '=', id).execute();
}

/** Disables a key (`disabled` with its time and reason) or enables it (`null`). */
export async function disableAccessKey(db: Db, id: string, at: Date, reason: DisabledReason): Promise<void> {
  await db.updateTable('access_keys').set({ disabled_at: at.toISOString(), disabled_reason: reason }).where('id', '=', id).execute();
}

/** Enables a key; dormancy counts from now on. */
export async function enableAccessKey(db: Db, id: string, at: Date): Promise<void> {
  await db.updateTable('access_keys').set({ disabled_at: null, disabled_reason: null, reactivated_at: at.toISOString() }).where('id', '=', id).execute();
}

/** A key's new token after a roll, and the replaced one's grace (both null: none). */
export type RolledToken = Pick<AccessKeyRow, 'token_hash' | 'expires_at' | 'expiration' | 'previous_token_hash' | 'previous_token_expires_at' | 'reactivated_at'>;

export async function updateAccessKeyToken(db: Db, id: string, rolled: RolledToken): Promise<void> {
  await db.updateTable('access_keys').set(rolled).where('id', '=', id).execute();
}

/**
 * Enabled, unexpired keys last used (or, never used, created), enabled and rolled before `unusedSince`, up to
 * `limit`, oldest first. Reads the whole table on both dialects: an hourly job, not a request.
 */
export async function findDormantAccessKeyRows(db: Db, unusedSince: Date, now: Date, limit: number): Promise<Array<Pick<AccessKeyRow, 'id' | 'name'>>> {
  return db
    .selectFrom('access_keys')
    .select(['id', 'name'])
    .where('disabled_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .where(sql<string>`coalesce(last_used_at, created_at)`, '<', unusedSince.toISOString())
    .where((eb) => eb.or([eb('reactivated_at', 'is', null), eb('reactivated_at', '<', unusedSince.toISOString())]))
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function deleteAccessKey(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('access_keys').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export const ACCESS_KEY_SORTS = ['createdAt', 'name', 'expiresAt', 'lastUsedAt', 'role'] as const;
export type AccessKeySort = (typeof ACCESS_KEY_SORTS)[number];

const SORT_COLUMNS = {
  createdAt: 'created_at',
  name: 'name_key',
  expiresAt: 'expires_at',
  lastUsedAt: 'last_used_at',
  // Grants are stored merged, in role order, as JSON text: sorting that text sorts keys by
  // their first role (Cloud Account Viewer, Global Admin, Global Viewer: alphabetical by
  // id and by display name alike).
  role: 'roles',
} as const satisfies Record<AccessKeySort, keyof AccessKeyRow>;

export interface AccessKeyQuery {
  sort: AccessKeySort;
  order: 'asc' | 'desc';
  limit: number;
  /** The sort value and id of the last row of the previous page. */
  after: { value: string; id: string } | undefined;
  /** Case-insensitive substring of the name. */
  name: string | undefined;
  role: Grant['role'] | undefined;
  status: 'active' | 'expired' | 'expiring' | undefined;
  now: Date;
  /** Keys expiring before this count as "expiring". */
  expiringBefore: Date;
}

/** Above this many keys in a status's expiry range, a list walks its sort index instead. */
const DENSE_STATUS = 2000;
/**
 * SQLite: the same in creation order, whose range plan reads an index of (expiry, creation, id)
 * alone (migration 2026-12-03T01). Keys of a status sit in runs and gaps in this order (see the
 * migration), which makes the walk the gamble. PostgreSQL's index-only scan of the 33,000 keys
 * "expiring" at a million took 35-50 ms: there a walk's one slow page costs less than a range
 * read on every page.
 */
const DENSE_STATUS_BY_CREATION = 50_000;

/** The expiry range (exclusive lower, inclusive upper bound) of a status filter. */
function statusRange(q: AccessKeyQuery): { after?: string; upTo?: string } | undefined {
  const now = q.now.toISOString();
  if (q.status === 'expired') return { upTo: now };
  if (q.status === 'active') return { after: now };
  if (q.status === 'expiring') return { after: now, upTo: q.expiringBefore.toISOString() };
  return undefined;
}

/** How long a count that picks a plan is trusted (see rememberedCount). */
const PLAN_COUNT_TTL_MS = 60_000;
const planCounts = new WeakMap<Db, BoundedCache<string, { n: number; until: number }>>();

/**
 * A filter's capped count of matches, remembered for a minute per database and filter: for a
 * common filter the count costs milliseconds of every page at a million keys (a name ~3 ms, a
 * status range up to ~4 ms), the walk that follows ~0.2 ms. The count only picks the plan, never
 * the rows, so an outdated one costs time, not correctness.
 */
async function rememberedCount(db: Db, filter: string, count: () => Promise<number>): Promise<number> {
  let known = planCounts.get(db);
  if (known === undefined) planCounts.set(db, (known = new BoundedCache(256)));
  const now = Date.now();
  const remembered = known.get(filter);
  if (remembered !== undefined && remembered.until > now) return remembered.n;
  const n = await count();
  known.set(filter, { n, until: now + PLAN_COUNT_TTL_MS });
  return n;
}

/** How many keys have an expiry in the range, counting no further than `cap` (index only). */
async function countUpTo(db: Db, range: { after?: string; upTo?: string }, cap: number): Promise<number> {
  let inRange = db.selectFrom('access_keys').select('expires_at');
  if (range.after !== undefined) inRange = inRange.where('expires_at', '>', range.after);
  if (range.upTo !== undefined) inRange = inRange.where('expires_at', '<=', range.upTo);
  // Ordered by expiry, so that PostgreSQL reads the expiry index rather than the table.
  const row = await db
    .selectFrom(inRange.orderBy('expires_at').limit(cap).as('r'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** How a key's stored roles begin when `role` is its first (mergeGrants' order, then JSON). */
const rolesPrefix = (role: Role): string => `[{"role":"${role}"`;

/**
 * Where, sorted by role, the keys holding `role` can be: grants are stored merged in ROLES
 * order, so such a key's stored roles begin with `role` or a role before it in that order. The
 * list is sorted by that text (whose order the role ids share in any collation: letters
 * decide), so the walk starts at the first of those prefixes and stops before the next other
 * one. Without the bounds the first page of Global Admins in descending order walked past
 * every Global Viewer first: 400,000 keys at a million.
 */
function roleSortBounds(role: Role): { from: string | undefined; before: string | undefined } {
  const possible = ROLES.slice(0, ROLES.indexOf(role) + 1)
    .map(rolesPrefix)
    .sort();
  const first = possible[0]!;
  const last = possible.at(-1)!;
  const after = ROLES.map(rolesPrefix)
    .filter((prefix) => !possible.includes(prefix) && prefix > last)
    .sort()[0];
  const below = ROLES.map(rolesPrefix).some((prefix) => prefix < first);
  return { from: below ? first : undefined, before: after };
}

/** SQLite: above this many keys matching a name filter, a list walks its sort index instead. */
const DENSE_NAME = 2000;
/** SQLite: the same for a filter of 1–2 characters, whose count no trigram index serves. */
const DENSE_SHORT_NAME = 500;

/**
 * SQLite: does the name filter (as a trigram-table GLOB) match at least `cap` keys? Counted in
 * the trigram table (and remembered: see rememberedCount).
 */
async function isDenseName(db: Db, glob: string, cap: number): Promise<boolean> {
  const matches = await rememberedCount(db, `name ${glob}`, async () => {
    const counted = await sql<{ n: number }>`
      select count(*) as n from (select 1 from access_keys_name_fts where name_key glob ${glob} limit ${cap})`.execute(db);
    return Number(counted.rows[0]?.n ?? 0);
  });
  return matches >= cap;
}

/** True when the text has 3 characters in a row that a trigram index can look up. */
function hasTrigram(text: string): boolean {
  return text.split(/[[*?]/).some((run) => [...run].length >= 3);
}

/**
 * The name filter as SQL: a case-insensitive substring of the name, with `%`, `_`, `\\` (and,
 * on SQLite's trigram table, `*`, `?`, `[`) in the user's text taken literally.
 *
 * A name filter, like a status filter, is served by one of two plans: walk the sort index
 * and skip the keys whose name does not match (cheap when many match), or look the matches
 * up in the trigram index and sort them (cheap when few match, and the only cheap plan when
 * none do). On SQLite, count the matches in the trigram index, at most DENSE_NAME, and choose
 * (isDenseName).
 */
async function nameFilter(db: Db, name: string) {
  const text = nameKey(name);
  const pattern = '%' + text.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
  const scan = sql<boolean>`name_key like ${pattern} escape '\\'`;
  // PostgreSQL: pg_trgm's GIN index serves the LIKE itself, and the planner, knowing the
  // column's statistics, chooses between it and the sort index well (measured at a million
  // keys: a substring matching none or a thousand keys reads the GIN index, a common one
  // walks the sort index). Counting first would cost more than it saves: a GIN scan reads
  // every match before a LIMIT applies.
  if (onPostgres(db)) return scan;
  // SQLite: the FTS5 trigram table (migration 2026-11-27T10) is searched with GLOB, whose
  // special characters are bracketed; name_key is stored lowercased, as `text` is.
  const glob = '*' + text.replace(/[[*?]/g, (c) => `[${c}]`) + '*';
  // Fewer than 3 characters: no trigram to look up, so the count reads the trigram table in
  // insertion order (cheap when the filter is common, as short ones usually are) and stops
  // lower; when such a filter matches few keys, scanning the name index (name keys alone)
  // beats reading every row of the table: ~0.25 s instead of ~2.5 s at a million keys.
  const short = !hasTrigram(text);
  if (await isDenseName(db, glob, short ? DENSE_SHORT_NAME : DENSE_NAME)) return scan;
  if (short) return sql<boolean>`rowid in (select rowid from access_keys where ${scan})`;
  return sql<boolean>`id in (select id from access_keys_name_fts where name_key glob ${glob})`;
}

/** One page of keys in a stable keyset order (sort column, then id). */
export async function listAccessKeyRows(db: Db, q: AccessKeyQuery): Promise<AccessKeyRow[]> {
  const column = SORT_COLUMNS[q.sort];
  // A never-used key sorts as the empty string, so keyset pagination stays total.
  const sortExpr = column === 'last_used_at' ? sql<string>`coalesce(last_used_at, '')` : sql.ref<string>(column);
  const cmp = q.order === 'desc' ? '<' : '>';
  let query = db.selectFrom('access_keys');
  // SQLite tests the terms in the order written: the status range first, as the sort index
  // holds it, then the role and the name, which a walk reads from the table (written the
  // other way round, a walk past a million keys read each from the table: 1.3 s against 60 ms).
  const range = statusRange(q);
  // Sorted by expiry, the expiry index does both jobs. Sorted otherwise, two plans compete:
  // walk the sort index and skip the keys outside the range (cheap when many match), or read
  // the range from the expiry index and sort it (cheap when few match). Neither dialect's
  // planner knows which at a million keys (measured: 200 ms against 0.3 ms), so count the
  // range on the expiry index (capped, remembered) and choose.
  let readsRange = false;
  if (range !== undefined) {
    if (q.sort !== 'expiresAt') {
      // In creation order SQLite reads the range from the (expiry, creation, id) index, which
      // holds no roles or names: with a role or name filter too, that read would read each key's
      // row (25 ms warm, 290 ms cold for "expiring" at a million), so those walk.
      const byCreation = q.sort === 'createdAt' && !onPostgres(db) && q.role === undefined && (q.name ?? '') === '';
      const dense = byCreation ? DENSE_STATUS_BY_CREATION : DENSE_STATUS;
      readsRange = (await rememberedCount(db, `status ${q.status} ${dense}`, () => countUpTo(db, range, dense))) < dense;
    }
    // Written as `expires_at || ''`, the expression each sort index carries after (value, id)
    // (migration 2026-11-27T11), the range is checked inside the sort index it walks, and
    // keeps either planner off the expiry index.
    const expiry = readsRange || q.sort === 'expiresAt' ? sql.ref<string>('expires_at') : sql<string>`(expires_at || '')`;
    if (range.after !== undefined) query = query.where(sql<boolean>`${expiry} > ${range.after}`);
    if (range.upTo !== undefined) query = query.where(sql<boolean>`${expiry} <= ${range.upTo}`);
  }
  if (q.role !== undefined) {
    query = query.where('roles', 'like', `%"role":"${q.role}"%`);
    if (q.sort === 'role') {
      const { from, before } = roleSortBounds(q.role);
      if (from !== undefined) query = query.where('roles', '>=', from);
      if (before !== undefined) query = query.where('roles', '<', before);
    }
  }
  if (q.name !== undefined && q.name !== '') {
    query = query.where(await nameFilter(db, q.name));
  }
  // Each scan picks the page's rows alone, then reads them: the name, the roles (SQLite) and
  // every expression of a status filter are in the sort index, so keys a filter skips are never
  // read from the table (and SQLite walks the covering list index, not the narrower unique name
  // index). The rows are found again by the rowid on SQLite, which every index entry holds:
  // the table is read without the id index (half the pages a cold page of keys reads).
  // PostgreSQL reads the table for every key a role filter skips (its indexes carry no roles),
  // and for none when nothing is filtered: then the scan reads the rows itself, since finding
  // them again by id would read the primary key too (~15 ms a page at a million keys, cold).
  const postgres = onPostgres(db);
  const rowKey = postgres ? sql.ref<string>('id') : sql<string>`rowid`;
  const scanReadsRows = postgres && range === undefined && (q.name === undefined || q.name === '');
  // The range plan sorts the range it read by `value || ''`, which no index holds, to keep either
  // planner off the sort index: one that trusts the range to be spread evenly through the sort
  // order would walk it instead (PostgreSQL did, at 33,000 keys in range).
  const scanOrder = readsRange ? sql<string>`(${sortExpr} || '')` : sortExpr;
  const sorted = (scan: typeof query) => scan.orderBy(scanOrder, q.order).orderBy('id', q.order);
  const rowsOf = async (scan: typeof query): Promise<AccessKeyRow[]> =>
    scanReadsRows
      ? scan.selectAll().execute()
      : db
          .selectFrom('access_keys')
          .selectAll()
          .where(rowKey, 'in', scan.select(rowKey.as('row_key')))
          .orderBy(sortExpr, q.order)
          .orderBy('id', q.order)
          .execute();
  if (q.after === undefined) return rowsOf(sorted(query).limit(q.limit));
  // "After (value, id)" as two range scans of the sort index: the rest of the cursor's value
  // (value = v, id beyond the cursor), then the values beyond it. One scan bounded on the value
  // alone would read every earlier key of the same value again, and some values are shared by
  // hundreds of thousands of keys (never used; one role). Row-value comparisons would do in one
  // scan, but SQLite does not seek with them on the last-use expression. (The first scan is
  // ordered by id alone: SQLite would sort the whole value otherwise.)
  const { value, id } = q.after;
  const tied = query.where(sql<boolean>`${sortExpr} = ${value}`).where('id', cmp, id);
  const rows = await rowsOf(tied.orderBy('id', q.order).limit(q.limit));
  if (rows.length === q.limit) return rows;
  const rest = await rowsOf(sorted(query.where(sql<boolean>`${sortExpr} ${sql.raw(cmp)} ${value}`)).limit(q.limit - rows.length));
  return [...rows, ...rest];
}

/** The value a row has in the sort column, as the cursor records it. */
export function sortValue(row: AccessKeyRow, sort: AccessKeySort): string {
  return String(row[SORT_COLUMNS[sort]] ?? '');
}
