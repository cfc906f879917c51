import { sql, PostgresAdapter, type Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// SQLite: the name-sort index gets the roles as its last key column, as the other sort indexes
// did in 2026-11-27T12, so a role filter in name order is checked inside the index. Read from
// the table instead, a page of Global Admins (1 key in 10) in name order read ~500 rows: 70-110
// ms at a million keys once the table's pages had left memory, 10-15 ms with the roles here.
// PostgreSQL carries no roles in its indexes (2026-11-27T12: entry size limit); nothing to do.
async function rebuild(db: Kysely<any>, withRoles: boolean): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  const columns = withRoles ? sql`name_key, id, (expires_at || ''), roles` : sql`name_key, id, (expires_at || '')`;
  await db.schema.dropIndex('access_keys_name_list').ifExists().execute();
  await sql`create index access_keys_name_list on access_keys (${columns})`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await rebuild(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  await rebuild(db, false);
}
