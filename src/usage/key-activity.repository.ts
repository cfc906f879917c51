import { sql } from 'kysely';
import type { Db, Dialect } from '../db/database.ts';

/** One group of requests: a key's requests in one hour with the same method, route, status, address and account. */
export interface ActivityGroup {
  keyId: string;
  /** The hour's start, ISO 8601 UTC. */
  hour: string;
  method: string;
  route: string;
  status: number;
  ip: string;
  /** '' when the request had no cloud account. */
  accountId: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
}

/**
 * Adds groups to the stored activity in one statement: the groups travel as one JSON parameter,
 * unpacked in SQL (`json_each` / `jsonb_to_recordset`), as key usage is. Additive and
 * order-independent, so that many instances flushing the same group merge: the counts add up,
 * the first and last sightings are the earliest and latest of both. Rows arrive sorted by their
 * key, so that instances flushing at once take row locks in the same order (no deadlock on
 * PostgreSQL). At most one group per key in a call.
 */
export async function addKeyActivity(db: Db, dialect: Dialect, groups: readonly ActivityGroup[]): Promise<void> {
  if (groups.length === 0) return;
  const rows = JSON.stringify(
    groups.map((g) => ({ k: g.keyId, h: g.hour, m: g.method, r: g.route, s: g.status, i: g.ip, a: g.accountId, n: g.count, f: g.firstSeen, l: g.lastSeen })),
  );
  const source =
    dialect === 'postgres'
      ? sql`select v.k, v.h, v.m, v.r, v.s, v.i, v.a, v.n, v.f, v.l
          from jsonb_to_recordset(${rows}::jsonb) as v(k text, h text, m text, r text, s integer, i text, a text, n integer, f text, l text)`
      : // "where true": SQLite's parser needs it between a SELECT and ON CONFLICT.
        sql`select value ->> 'k', value ->> 'h', value ->> 'm', value ->> 'r', value ->> 's', value ->> 'i', value ->> 'a', value ->> 'n', value ->> 'f', value ->> 'l'
          from json_each(${rows}) where true`;
  await sql`
    insert into access_key_activity (key_id, hour, method, route, status, ip, account_id, count, first_seen, last_seen)
    ${source}
    on conflict (key_id, hour, method, route, status, ip, account_id) do update set
      count = access_key_activity.count + excluded.count,
      first_seen = case when excluded.first_seen < access_key_activity.first_seen then excluded.first_seen else access_key_activity.first_seen end,
      last_seen = case when excluded.last_seen > access_key_activity.last_seen then excluded.last_seen else access_key_activity.last_seen end`.execute(db);
}

/** A key's activity since `since` (an hour's start), the latest first; at most `limit` groups. */
export async function listKeyActivity(db: Db, keyId: string, since: string, limit: number): Promise<ActivityGroup[]> {
  const rows = await db
    .selectFrom('access_key_activity')
    .selectAll()
    .where('key_id', '=', keyId)
    .where('hour', '>=', since)
    .orderBy('last_seen', 'desc')
    .orderBy('hour', 'desc')
    .orderBy('route')
    .orderBy('method')
    .orderBy('status')
    .orderBy('ip')
    .orderBy('account_id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    keyId: r.key_id,
    hour: r.hour,
    method: r.method,
    route: r.route,
    status: Number(r.status),
    ip: r.ip,
    accountId: r.account_id,
    count: Number(r.count),
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
  }));
}

/**
 * A key's activity since `since` summed over hours and addresses: what the advice and the dry
 * run judge (one row per method, route, status and account).
 */
export async function summarizeKeyActivity(
  db: Db,
  keyId: string,
  since: string,
): Promise<{ method: string; route: string; status: number; accountId: string; count: number }[]> {
  const rows = await db
    .selectFrom('access_key_activity')
    .select(['method', 'route', 'status', 'account_id', (eb) => eb.fn.sum<string | number>('count').as('count')])
    .where('key_id', '=', keyId)
    .where('hour', '>=', since)
    .groupBy(['method', 'route', 'status', 'account_id'])
    .orderBy('route')
    .orderBy('method')
    .orderBy('account_id')
    .orderBy('status')
    .execute();
  return rows.map((r) => ({ method: r.method, route: r.route, status: Number(r.status), accountId: r.account_id, count: Number(r.count) }));
}

/** Deletes the hours before `before`, and the activity of keys that no longer exist. Returns the rows deleted. */
export async function pruneKeyActivity(db: Db, before: string): Promise<number> {
  const old = await db.deleteFrom('access_key_activity').where('hour', '<', before).executeTakeFirst();
  const orphaned = await db
    .deleteFrom('access_key_activity')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('access_keys').select('id').whereRef('access_keys.id', '=', 'access_key_activity.key_id'))))
    .executeTakeFirst();
  return Number(old.numDeletedRows) + Number(orphaned.numDeletedRows);
}
