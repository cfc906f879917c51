import { sql, PostgresAdapter, type Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// The expiry index carries the creation time too, so that a status filter in creation order
// can be answered from it alone: read the status's expiry range, sort it by creation, take a
// page. Keys expire a set period after creation, so in creation order a status's keys sit in
// runs with long gaps between them, and a walk of the creation index crossed such a gap key by
// key: the first page of "expiring" in ascending creation order skipped ~480,000 keys at a
// million (80 ms warm, 350 ms cold); read from the expiry range, ~33,000 entries, it takes ~5 ms.
// SQLite appends created_at after (expires_at, id), before the name and roles it already carried
// (2026-11-27T12); PostgreSQL adds it to the INCLUDE columns.
async function rebuild(db: Kysely<any>, withCreation: boolean): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const definition = postgres
    ? withCreation
      ? sql`(expires_at, id) include (name_key, created_at)`
      : sql`(expires_at, id) include (name_key)`
    : withCreation
      ? sql`(expires_at, id, created_at, name_key, roles)`
      : sql`(expires_at, id, name_key, roles)`;
  await db.schema.dropIndex('access_keys_expires').ifExists().execute();
  await sql`create index access_keys_expires on access_keys ${definition}`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await rebuild(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  await rebuild(db, false);
}
