import { sql } from 'kysely';
import type { Db, Dialect } from '../db/database.ts';

/** What one instance saw of one key since its last flush. */
export interface UsageDelta {
  keyId: string;
  count: number;
  lastUsedAt: string;
  lastUsedIp: string;
}

/**
 * Adds deltas to keys' usage, one statement for the whole batch: the deltas travel as one JSON
 * parameter, unpacked in SQL (`json_each` / `jsonb_to_recordset`), so a flush costs one
 * statement, not one per key. Additive and order-independent, so that many instances flushing
 * the same key merge correctly: the count adds up, and the last use is the later of the stored
 * one and this one (with its address). In an UPDATE every right-hand side reads the row as it
 * was, on both dialects. A removed key matches no row. At most one delta per key.
 */
export async function addKeyUsage(db: Db, dialect: Dialect, deltas: readonly UsageDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const rows = JSON.stringify(deltas.map((d) => ({ id: d.keyId, n: d.count, at: d.lastUsedAt, ip: d.lastUsedIp })));
  if (dialect === 'postgres') {
    // Rows locked in key-id order first, so that instances flushing at once cannot deadlock.
    await sql`select id from access_keys where id in (select id from jsonb_to_recordset(${rows}::jsonb) as v(id text)) order by id for update`.execute(db);
    await sql`
      update access_keys as k set
        use_count = k.use_count + v.n,
        last_used_at = case when k.last_used_at is null or k.last_used_at < v.at then v.at else k.last_used_at end,
        last_used_ip = case when k.last_used_at is null or k.last_used_at < v.at then v.ip else k.last_used_ip end
      from jsonb_to_recordset(${rows}::jsonb) as v(id text, n integer, at text, ip text)
      where k.id = v.id`.execute(db);
    return;
  }
  await sql`
    update access_keys set
      use_count = use_count + v.n,
      last_used_at = case when last_used_at is null or last_used_at < v.at then v.at else last_used_at end,
      last_used_ip = case when last_used_at is null or last_used_at < v.at then v.ip else last_used_ip end
    from (select value ->> 'id' as id, value ->> 'n' as n, value ->> 'at' as at, value ->> 'ip' as ip from json_each(${rows})) as v
    where access_keys.id = v.id`.execute(db);
}
