import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// The access-keys list sorted by role walks this index, with id as the keyset tie-breaker.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('access_keys_roles').on('access_keys').columns(['roles', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('access_keys_roles').execute();
}
