import { type Kysely, PostgresAdapter, sql } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// A holder's grants are read by holder on every cold authentication (a key's state, a user's
// session). The holder index named only (holder, role), so each grant row cost a second descent,
// into the table, for `all_accounts` and `account_id`. The index now carries them: the grants
// are read from the index alone (PostgreSQL: INCLUDE; SQLite, which has none: key columns).
const GRANT_TABLES = [
  { table: 'access_key_grants', holder: 'key_id' },
  { table: 'user_grants', holder: 'user_id' },
] as const;

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  for (const { table, holder } of GRANT_TABLES) {
    const columns = postgres ? sql`(${sql.ref(holder)}, role) include (all_accounts, account_id)` : sql`(${sql.ref(holder)}, role, all_accounts, account_id)`;
    await db.schema.dropIndex(`${table}_holder`).ifExists().execute();
    await sql`create index ${sql.id(`${table}_holder`)} on ${sql.table(table)} ${columns}`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const { table, holder } of GRANT_TABLES) {
    await db.schema.dropIndex(`${table}_holder`).ifExists().execute();
    await db.schema.createIndex(`${table}_holder`).on(table).columns([holder, 'role']).execute();
  }
}
