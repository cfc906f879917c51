import { type Kysely, PostgresAdapter, sql } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// The access-keys list's status filter tells disabled keys apart (issue 17: a disabled, unexpired
// key shows as `disabled`, not `active`). Disabled keys are few, so they get a partial index of
// their own: `status=disabled` reads them from it and sorts them, and `active`/`expiring` exclude
// them with `not in (the keys in it)`, built once per query and checked against the row key each
// walked sort-index entry holds (SQLite's rowid, PostgreSQL's id), so the walk still reads no rows.
// It carries the expiry and every sort value too, so that both the exclusion and a page of
// disabled keys are answered from the index alone, the table read only for the page's rows
// (at a million keys, 1,000 disabled, PostgreSQL otherwise probed the table for all 1,000).
const CARRIED = ['expires_at', 'created_at', 'name_key', 'last_used_at', 'role_set'];

export async function up(db: Kysely<any>): Promise<void> {
  const carried = sql.join(CARRIED.map((c) => sql.ref(c)));
  const columns = db.getExecutor().adapter instanceof PostgresAdapter ? sql`(disabled_at, id) include (${carried})` : sql`(disabled_at, id, ${carried})`;
  await sql`create index access_keys_disabled on access_keys ${columns} where disabled_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('access_keys_disabled').ifExists().execute();
}
