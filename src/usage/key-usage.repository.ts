import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** What one instance saw of one key since its last flush. */
export interface UsageDelta {
  keyId: string;
  count: number;
  lastUsedAt: string;
  lastUsedIp: string;
}

/**
 * Adds a delta to a key's usage. Additive and order-independent, so that many instances
 * flushing the same key merge correctly: the count adds up, and the last use is the later of
 * the stored one and this one (with its address). In an UPDATE every right-hand side reads the
 * row as it was, on both dialects. A removed key matches no row.
 */
export async function addKeyUsage(db: Db, delta: UsageDelta): Promise<void> {
  const newer = sql<boolean>`(last_used_at is null or last_used_at < ${delta.lastUsedAt})`;
  await db
    .updateTable('access_keys')
    .set({
      use_count: sql<number>`use_count + ${delta.count}`,
      last_used_at: sql<string>`case when ${newer} then ${delta.lastUsedAt} else last_used_at end`,
      last_used_ip: sql<string>`case when ${newer} then ${delta.lastUsedIp} else last_used_ip end`,
    })
    .where('id', '=', delta.keyId)
    .execute();
}
