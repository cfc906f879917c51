import { sql, type Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// The access-keys list walks a sort index and skips the keys a filter rejects. A status filter
// matching a few percent of a million keys (expiring: ~3%) then skipped ~1,500 keys a page,
// each read from the table. These indexes carry the expiry after the sort value and id, as
// the expression `expires_at || ''` that the list writes a dense status filter in: both
// dialects check it inside the sort index (PostgreSQL as an index condition), and no planner
// takes the expiry index for it. They replace the (sort value, id) indexes of creation, last
// use and role, and add one for the name (the unique name index stays, for uniqueness).
const LIST_INDEXES = [
  { name: 'access_keys_created_list', sort: sql`created_at` },
  { name: 'access_keys_name_list', sort: sql`name_key` },
  { name: 'access_keys_last_used_list', sort: sql`(coalesce(last_used_at, ''))` },
  { name: 'access_keys_roles_list', sort: sql`roles` },
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const index of LIST_INDEXES) {
    await sql`create index ${sql.id(index.name)} on access_keys (${index.sort}, id, (expires_at || ''))`.execute(db);
  }
  for (const old of ['access_keys_created', 'access_keys_last_used', 'access_keys_roles']) {
    await db.schema.dropIndex(old).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('access_keys_created').on('access_keys').columns(['created_at', 'id']).execute();
  await sql`create index access_keys_last_used on access_keys ((coalesce(last_used_at, '')), id)`.execute(db);
  await db.schema.createIndex('access_keys_roles').on('access_keys').columns(['roles', 'id']).execute();
  for (const index of LIST_INDEXES) await db.schema.dropIndex(index.name).execute();
}
