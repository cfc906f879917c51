import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

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
 * Adds groups to the stored activity in one statement. Additive and order-independent, so that
 * many instances flushing the same group merge: the counts add up, the first and last sightings
 * are the earliest and latest of both. Rows arrive sorted by their key, so that instances
 * flushing at once take row locks in the same order (no deadlock on PostgreSQL).
 */
export async function addKeyActivity(db: Db, groups: readonly ActivityGroup[]): Promise<void> {
  if (groups.length === 0) return;
  await db
    .insertInto('access_key_activity')
    .values(
      groups.map((g) => ({
        key_id: g.keyId,
        hour: g.hour,
        method: g.method,
        route: g.route,
        status: g.status,
        ip: g.ip,
        account_id: g.accountId,
        count: g.count,
        first_seen: g.firstSeen,
        last_seen: g.lastSeen,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['key_id', 'hour', 'method', 'route', 'status', 'ip', 'account_id']).doUpdateSet({
        count: sql`access_key_activity.count + excluded.count`,
        first_seen: sql`case when excluded.first_seen < access_key_activity.first_seen then excluded.first_seen else access_key_activity.first_seen end`,
        last_seen: sql`case when excluded.last_seen > access_key_activity.last_seen then excluded.last_seen else access_key_activity.last_seen end`,
      }),
    )
    .execute();
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
