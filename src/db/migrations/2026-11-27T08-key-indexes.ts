import { sql, type Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// Indexes behind the access-keys list at a million keys. Sorting by last use orders
// never-used keys as '' (coalesce), so that sort needs an index on the same expression,
// with id as the tie-breaker of the keyset cursor. (Name, creation and expiry are served
// by the unique name index and the (created_at, id) / (expires_at, id) indexes.)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index access_keys_last_used on access_keys ((coalesce(last_used_at, '')), id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('access_keys_last_used').execute();
}
