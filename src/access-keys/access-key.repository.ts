import { type Expression, PostgresAdapter, sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AccessKeyRow, NewAccessKeyRow } from '../db/schema.ts';
import { grantsOf, replaceGrants, ROLE_SETS, roleSetOf, roleSetsHolding } from '../auth/grants.ts';
import type { Grant } from '../auth/permissions.ts';
import { nameKey, statusAt, type AccessKey, type DisabledReason } from './access-key.ts';
import { choosePlan, countsNeeded, type ListShape, type RememberedCounts } from './access-key-list-plan.ts';
import type { KeyRateLimit } from './access-key-guards.ts';

/** PostgreSQL or SQLite: where the two plan differently. */
function onPostgres(db: Db): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** A key's row with its grants (held in access_key_grants, see src/auth/grants.ts). */
export type AccessKeyRecord = AccessKeyRow & { grants: Grant[] };

export function rowToAccessKey(row: AccessKeyRecord, now: Date): AccessKey {
  return {
    id: row.id,
    name: row.name,
    roles: row.grants,
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

/**
 * Inserts a key (its `role_set` from roleSetOf; its grants are stored by storeGrants); on
 * SQLite its name goes into the trigram table separately (indexAccessKeyNames).
 */
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

/** Rows with their grants (one query for all of them). */
export async function withGrants<R extends AccessKeyRow>(db: Db, rows: R[]): Promise<Array<R & { grants: Grant[] }>> {
  const grants = await grantsOf(
    db,
    'access-key',
    rows.map((row) => row.id),
  );
  return rows.map((row) => ({ ...row, grants: grants.get(row.id) ?? [] }));
}

async function withGrantsOf(db: Db, row: AccessKeyRow | undefined): Promise<AccessKeyRecord | undefined> {
  return row === undefined ? undefined : (await withGrants(db, [row]))[0];
}

/** The keys with these ids (at most a few thousand: one statement), in no particular order. */
export async function findAccessKeyRowsByIds(db: Db, ids: readonly string[]): Promise<AccessKeyRecord[]> {
  if (ids.length === 0) return [];
  return withGrants(db, await db.selectFrom('access_keys').selectAll().where('id', 'in', ids).execute());
}

export async function findAccessKeyRow(db: Db, id: string): Promise<AccessKeyRecord | undefined> {
  return withGrantsOf(db, await db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst());
}

export async function findAccessKeyRowByNameKey(db: Db, nameKey: string): Promise<AccessKeyRecord | undefined> {
  return withGrantsOf(db, await db.selectFrom('access_keys').selectAll().where('name_key', '=', nameKey).executeTakeFirst());
}

/** Replaces a key's grants (validated and merged), with the role set the list sorts by. */
export async function updateAccessKeyRoles(db: Db, id: string, roles: Grant[]): Promise<void> {
  await db
    .updateTable('access_keys')
    .set({ role_set: roleSetOf(roles) })
    .where('id', '=', id)
    .execute();
  await replaceGrants(db, 'access-key', id, roles);
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
  // The key's set of roles, in ROLE_SETS order: by its first role, then its second.
  role: 'role_set',
} as const satisfies Record<AccessKeySort, keyof AccessKeyRow>;

export interface AccessKeyQuery {
  sort: AccessKeySort;
  order: 'asc' | 'desc';
  limit: number;
  /** The sort value and id of the last row of the previous page (a role sort's value: a ROLE_SETS position). */
  after: { value: string; id: string } | undefined;
  /** Case-insensitive substring of the name. */
  name: string | undefined;
  role: Grant['role'] | undefined;
  status: 'active' | 'expired' | 'expiring' | 'disabled' | undefined;
  now: Date;
  /** Keys expiring before this count as "expiring". */
  expiringBefore: Date;
}

/**
 * The expiry range (exclusive lower, inclusive upper bound) of a status filter. As statusAt
 * has it, an expired key is `expired` whether disabled or not; the other statuses are unexpired.
 */
function statusRange(q: AccessKeyQuery): { after?: string; upTo?: string } | undefined {
  const now = q.now.toISOString();
  if (q.status === 'expired') return { upTo: now };
  if (q.status === 'active' || q.status === 'disabled') return { after: now };
  if (q.status === 'expiring') return { after: now, upTo: q.expiringBefore.toISOString() };
  return undefined;
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

/** SQLite: how many keys the trigram table matches for the GLOB, counting no further than `cap`. */
async function countNamesUpTo(db: Db, glob: string, cap: number): Promise<number> {
  const counted = await sql<{ n: number }>`
    select count(*) as n from (select 1 from access_keys_name_fts where name_key glob ${glob} limit ${cap})`.execute(db);
  return Number(counted.rows[0]?.n ?? 0);
}

/** The name key as a trigram-table GLOB, its special characters bracketed. */
const nameGlob = (text: string): string => '*' + text.replace(/[[*?]/g, (c) => `[${c}]`) + '*';

/** The days (UTC, as `expires_at` begins) that an "expiring" window touches, first to last. */
function expiryDays(q: AccessKeyQuery): string[] {
  const days: string[] = [];
  const last = q.expiringBefore.toISOString().slice(0, 10);
  for (let day = q.now.toISOString().slice(0, 10); day <= last; day = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10)) days.push(day);
  return days;
}

/** The length in days of an "expiring" window, which its remembered counts are kept per. */
function expiringWindowDays(q: AccessKeyQuery): number {
  return q.status === 'expiring' ? Math.round((q.expiringBefore.getTime() - q.now.getTime()) / 86_400_000) : 0;
}

/**
 * One page of keys in a stable keyset order (sort column, then id), with their grants. The
 * plan (access-key-list-plan.ts) decides how a status or name filter is read; `counts` keeps
 * the capped counts it is decided on.
 */
export async function listAccessKeyRows(db: Db, q: AccessKeyQuery, counts: RememberedCounts): Promise<AccessKeyRecord[]> {
  const postgres = onPostgres(db);
  const nameText = q.name === undefined || q.name === '' ? undefined : nameKey(q.name);
  const shape: ListShape = {
    dialect: postgres ? 'postgres' : 'sqlite',
    sort: q.sort,
    status: q.status,
    role: q.role !== undefined,
    name: nameText,
    windowDays: q.status === 'expiring' ? expiringWindowDays(q) : undefined,
  };
  const needed = countsNeeded(shape);
  const range = statusRange(q);
  const found: { status?: number; name?: number } = {};
  if (needed.statusCap !== undefined && range !== undefined) {
    const cap = needed.statusCap;
    found.status = await counts.get(`status ${q.status} ${expiringWindowDays(q)} ${cap}`, () => countUpTo(db, range, cap));
  }
  if (needed.nameCap !== undefined && nameText !== undefined) {
    const cap = needed.nameCap;
    const glob = nameGlob(nameText);
    found.name = await counts.get(`name ${glob} ${cap}`, () => countNamesUpTo(db, glob, cap));
  }
  const plan = choosePlan(shape, found);

  const column = SORT_COLUMNS[q.sort];
  // A never-used key sorts as the empty string, so keyset pagination stays total.
  const sortExpr = column === 'last_used_at' ? sql<string>`coalesce(last_used_at, '')` : sql.ref<string>(column);
  const cmp = q.order === 'desc' ? '<' : '>';
  // The row key: SQLite's rowid, which every index entry holds (the table without the id
  // index); PostgreSQL's id, which every sort index holds.
  const rowKey = postgres ? sql.ref<string>('id') : sql<string>`rowid`;
  // The keys in the partial index of disabled keys (migration 2026-12-07T55): few, read once.
  const disabledKeys = sql`(select ${rowKey} from access_keys where disabled_at is not null)`;
  let query = db.selectFrom('access_keys');
  // Only the partial index holds these keys, with all the list tests and sorts by (a covering read).
  if (plan.status === 'read-disabled') query = query.where(sql<boolean>`disabled_at is not null`);
  // SQLite tests the terms in the order written: the status range first, as the sort index
  // holds it right after (value, id), then the role set and the name.
  if (range !== undefined) {
    // Written as `expires_at || ''`, the expression each sort index carries after (value, id)
    // (migration 2026-11-27T11), the range is checked inside the sort index it walks, and
    // keeps either planner off the expiry index (and, reading the disabled keys, off any index).
    const expiry = plan.status === 'checked-in-sort-index' || plan.status === 'read-disabled' ? sql<string>`(expires_at || '')` : sql.ref<string>('expires_at');
    if (range.after !== undefined) query = query.where(sql<boolean>`${expiry} > ${range.after}`);
    if (range.upTo !== undefined) query = query.where(sql<boolean>`${expiry} <= ${range.upTo}`);
  }
  // An unexpired disabled key is `disabled`, not `active` or `expiring` (statusAt). Tested by
  // the row key the walked index entry holds, against the disabled keys built once per query;
  // read by expiry day, by the condition of the index that holds only the enabled keys.
  if (plan.status === 'by-expiry-day') query = query.where(sql<boolean>`disabled_at is null`);
  else if (q.status === 'active' || q.status === 'expiring') query = query.where(sql<boolean>`${rowKey} not in ${disabledKeys}`);
  // In role order, one scan per role set (below); but the few disabled keys are read once, sorted.
  const perRoleSet = q.sort === 'role' && plan.status !== 'read-disabled';
  if (q.role !== undefined && !perRoleSet) {
    // `role_set + 0`: checked in the sort index being walked; neither planner may look the role
    // sets up in the role index instead, which holds a tenth to a half of all keys, then sort them.
    query = query.where(sql<number>`(role_set + 0)`, 'in', roleSetsHolding(q.role));
  }
  if (nameText !== undefined) {
    const pattern = '%' + nameText.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
    const like = sql<boolean>`name_key like ${pattern} escape '\\'`;
    if (plan.name === 'like') query = query.where(like);
    else if (plan.name === 'name-index-scan') query = query.where(sql<boolean>`rowid in (select rowid from access_keys where ${like})`);
    else query = query.where(sql<boolean>`id in (select id from access_keys_name_fts where name_key glob ${nameGlob(nameText)})`);
  }
  // Each scan picks the page's keys alone, then reads them: everything a filter tests is in the
  // sort index, so keys it skips are never read from the table. SQLite finds the rows again by
  // rowid, which every index entry holds (the table without the id index); PostgreSQL by id,
  // or, with nothing tested, the walk reads the rows itself.
  // The range plan orders by `value || ''`, which no index holds, to keep either planner off the
  // sort index: one that trusts the range to be spread evenly through the sort order walks it.
  // So does the read of the disabled keys, which are few.
  const unindexed = (expr: typeof sortExpr) => (plan.status === 'read-range' || plan.status === 'read-disabled' ? sql<string>`(${expr} || '')` : expr);
  const rowsByKey = (keys: Expression<unknown>): Promise<AccessKeyRow[]> =>
    db.selectFrom('access_keys').selectAll().where(sql<boolean>`${rowKey} in (${keys})`).orderBy(sortExpr, q.order).orderBy('id', q.order).execute();
  const rowsOf = async (scan: typeof query): Promise<AccessKeyRow[]> =>
    plan.rows === 'from-scan' ? scan.selectAll().execute() : rowsByKey(scan.select(rowKey.as('row_key')));
  const idOrder = unindexed(sql.ref<string>('id'));

  if (plan.status === 'by-expiry-day') {
    // Each day of the window from its index (migration 2026-12-07T85): its keys after the
    // cursor in creation order, at most a page; the days' pages merged, and the first page taken.
    const after = q.after === undefined ? query : query.where(sql<boolean>`(created_at, id) ${sql.raw(cmp)} (${q.after.value}, ${q.after.id})`);
    const ofDay = (day: Expression<string>) =>
      after
        .where(sql<string>`substr(expires_at, 1, 10)`, '=', day)
        .select([rowKey.as('row_key'), 'created_at', 'id'])
        .orderBy('created_at', q.order)
        .orderBy('id', q.order)
        .limit(q.limit);
    const days = expiryDays(q);
    const order = sql.raw(q.order);
    // PostgreSQL plans a union of a member per day for longer than it runs it: one lateral read
    // per day instead. SQLite has no lateral join, and prepares the union quickly.
    const keys = postgres
      ? sql`select x.row_key from unnest(${days}::text[]) as d(day) cross join lateral (${ofDay(sql<string>`d.day`)}) as x
          order by x.created_at ${order}, x.id ${order} limit ${q.limit}`
      : db
          .selectFrom(
            days
              .map((day, i) => db.selectFrom(ofDay(sql.val(day)).as(`d${i}`)).select(['row_key', 'created_at', 'id']))
              .reduce((union, member) => union.unionAll(member))
              .as('days'),
          )
          .select('row_key')
          .orderBy('created_at', q.order)
          .orderBy('id', q.order)
          .limit(q.limit);
    return withGrants(db, await rowsByKey(keys));
  }

  if (perRoleSet) {
    // One scan per role set, in order, from the cursor's: each an equality on the sort index's
    // first column, walked by id. A role filter visits only the sets that hold the role.
    const sets = q.role === undefined ? ROLE_SETS.map((_, position) => position) : roleSetsHolding(q.role);
    const cursorSet = q.after === undefined ? undefined : Number(q.after.value);
    const rows: AccessKeyRow[] = [];
    for (const set of q.order === 'asc' ? sets : [...sets].reverse()) {
      if (cursorSet !== undefined && (q.order === 'asc' ? set < cursorSet : set > cursorSet)) continue;
      let scan = query.where('role_set', '=', set);
      if (q.after !== undefined && set === cursorSet) scan = scan.where('id', cmp, q.after.id);
      rows.push(...(await rowsOf(scan.orderBy(idOrder, q.order).limit(q.limit - rows.length))));
      if (rows.length === q.limit) break;
    }
    return withGrants(db, rows);
  }

  // (A role set is a number: `role_set + 0` hides it from the indexes as `|| ''` does text.)
  const sortedBy = q.sort === 'role' && plan.status === 'read-disabled' ? sql<string>`(role_set + 0)` : unindexed(sortExpr);
  const sorted = (scan: typeof query) => scan.orderBy(sortedBy, q.order).orderBy('id', q.order);
  if (q.after === undefined) return withGrants(db, await rowsOf(sorted(query).limit(q.limit)));
  // "After (value, id)" as two range scans of the sort index: the rest of the cursor's value
  // (value = v, id beyond the cursor), then the values beyond it. One scan bounded on the value
  // alone would read every earlier key of the same value again, and some values are shared by
  // many keys (never used). Row-value comparisons would do in one scan, but SQLite does not seek
  // with them on the last-use expression. (The first scan is ordered by id alone: SQLite would
  // sort the whole value otherwise.)
  const { value, id } = q.after;
  if (plan.status === 'read-disabled') {
    // The disabled keys are read whole anyway: one scan, its bound on expressions no index holds.
    const from = q.sort === 'role' ? Number(value) : value;
    const beyond = sql<boolean>`(${sortedBy} ${sql.raw(cmp)} ${from} or (${sortedBy} = ${from} and ${idOrder} ${sql.raw(cmp)} ${id}))`;
    return withGrants(db, await rowsOf(sorted(query.where(beyond)).limit(q.limit)));
  }
  const tied = query.where(sql<boolean>`${sortExpr} = ${value}`).where('id', cmp, id);
  const rows = await rowsOf(tied.orderBy(idOrder, q.order).limit(q.limit));
  if (rows.length < q.limit) {
    rows.push(...(await rowsOf(sorted(query.where(sql<boolean>`${sortExpr} ${sql.raw(cmp)} ${value}`)).limit(q.limit - rows.length))));
  }
  return withGrants(db, rows);
}

/** The value a row has in the sort column, as the cursor records it. */
export function sortValue(row: AccessKeyRow, sort: AccessKeySort): string {
  return String(row[SORT_COLUMNS[sort]] ?? '');
}
