import { sql, PostgresAdapter, type Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// SQLite: the expiry index carries the creation time too, so that a status filter in creation
// order can be answered from it alone: read the status's expiry range, sort it by creation,
// take a page. Keys expire a set period after creation, so in creation order a status's keys
// sit in runs with long gaps between them, and a walk of the creation index crossed such a gap
// key by key: the first page of "expiring" in ascending creation order skipped ~480,000 keys
// at a million (80 ms warm, 350 ms cold); read from the expiry range, ~33,000 entries, a page
// takes ~8 ms. created_at goes after (expires_at, id), before the name and roles the index
// already carried (2026-11-27T12). PostgreSQL keeps the walk (its index-only scan of the range
// took 35-50 ms a page; see listAccessKeyRows): nothing to do.
async function rebuild(db: Kysely<any>, withCreation: boolean): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  const columns = withCreation ? sql`expires_at, id, created_at, name_key, roles` : sql`expires_at, id, name_key, roles`;
  await db.schema.dropIndex('access_keys_expires').ifExists().execute();
  await sql`create index access_keys_expires on access_keys (${columns})`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await rebuild(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  await rebuild(db, false);
}
