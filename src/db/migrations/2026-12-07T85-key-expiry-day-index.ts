import { type Kysely, PostgresAdapter, sql } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// The access-keys list's `status=expiring` in creation order (access-key-list-plan.ts,
// `by-expiry-day`). Keys expire a set period after creation, so in creation order the expiring
// keys sit in runs with long gaps between them, and a walk of the creation index crossed each
// gap key by key, while reading the whole expiry window and sorting it costs the window on every
// page. This index holds the enabled keys (`expiring` excludes disabled ones) by the day they
// expire, then creation: the window is a few dozen days, each read in creation order from the
// cursor, at most a page from each, and those merged. It carries the expiry (the window's first
// and last days are partly outside it) and the role set (a role filter). SQLite has no INCLUDE:
// the carried columns are key columns, and `disabled_at` too, without which SQLite reads the
// table to test the index's own condition.
const DAY = sql`(substr(expires_at, 1, 10))`;

export async function up(db: Kysely<any>): Promise<void> {
  const columns =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? sql`(${DAY}, created_at, id) include (expires_at, role_set)`
      : sql`(${DAY}, created_at, id, expires_at, role_set, disabled_at)`;
  await sql`create index access_keys_expiry_day on access_keys ${columns} where disabled_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('access_keys_expiry_day').ifExists().execute();
}
