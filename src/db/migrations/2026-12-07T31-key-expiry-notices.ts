import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// What the expiry housekeeping job (src/access-keys/expiry-warnings.ts) has announced per key,
// so that each warning goes out once in the cluster: the smallest threshold (in days) an
// `access_key.expiring` event was sent for, and whether `access_key.expired` was. `expires_at`
// is the expiry those were about: a key whose expiry moved (a roll) starts afresh.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('access_key_expiry_notices')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('warned_days', 'integer')
    .addColumn('expired_sent', 'integer', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('access_key_expiry_notices').ifExists().execute();
}
