import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// A key's life between creation and removal (issue 17): a description and who created it; the
// expiration it was created with (a preset such as `6mo`, or a day count as `days:N`), which a
// roll repeats by default; when and why it was disabled (null: enabled); and, after a roll with
// a grace period, the hash of the token it replaced and until when that token still works; and
// when it was last enabled or rolled, from which (as from its last use) dormancy is counted.
// `settings` holds instance-wide settings as JSON text by name (the access key policy first).
export async function up(db: Kysely<any>): Promise<void> {
  for (const column of [
    'description',
    'created_by',
    'expiration',
    'disabled_at',
    'disabled_reason',
    'previous_token_hash',
    'previous_token_expires_at',
    'reactivated_at',
  ]) {
    await db.schema.alterTable('access_keys').addColumn(column, 'text').execute();
  }
  await db.schema
    .createTable('settings')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('settings').ifExists().execute();
  for (const column of [
    'reactivated_at',
    'previous_token_expires_at',
    'previous_token_hash',
    'disabled_reason',
    'disabled_at',
    'expiration',
    'created_by',
    'description',
  ]) {
    await db.schema.alterTable('access_keys').dropColumn(column).execute();
  }
}
