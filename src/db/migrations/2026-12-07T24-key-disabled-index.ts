import { type Kysely, sql } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// The access-keys list's status filter tells disabled keys apart (issue 17: a disabled, unexpired
// key shows as `disabled`, not `active`). Disabled keys are few, so they get a partial index of
// their own: `status=disabled` reads them from it and sorts them, and `active`/`expiring` exclude
// them with `not in (the keys in it)`, built once per query and checked against the row key each
// walked sort-index entry holds (SQLite's rowid, PostgreSQL's id), so the walk still reads no rows.
// It holds id as well, so that PostgreSQL answers the exclusion from the index alone.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index access_keys_disabled on access_keys (disabled_at, id) where disabled_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('access_keys_disabled').ifExists().execute();
}
