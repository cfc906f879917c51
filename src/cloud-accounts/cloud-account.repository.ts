import type { Db } from '../db/database.ts';

/** The subset of `ids` that exist as cloud accounts. */
export async function existingAccountIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('cloud_accounts').select('id').where('id', 'in', [...ids]).execute();
  return new Set(rows.map((r) => r.id));
}
