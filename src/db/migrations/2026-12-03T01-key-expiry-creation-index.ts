import { PostgresAdapter, type Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// SQLite: an index of (expiry, creation time, id), so that a status filter in creation order
// can be answered from it alone: read the status's expiry range, sort it by creation, take a
// page. Keys expire a set period after creation, so in creation order a status's keys sit in
// runs with long gaps between them, and a walk of the creation index crossed such a gap key by
// key: the first page of "expiring" in ascending creation order skipped ~480,000 keys at a
// million (80 ms warm, 350 ms cold). Read from the expiry index (2026-11-27T12: it carries the
// name and roles too, ~160 bytes an entry), its ~33,000 entries in range took 8-14 ms a page;
// from this narrow one (~95 bytes), about half. PostgreSQL keeps the walk (its index-only scan
// of the range took 35-50 ms a page; see listAccessKeyRows): nothing to do.
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  await db.schema.createIndex('access_keys_expires_created').ifNotExists().on('access_keys').columns(['expires_at', 'created_at', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  await db.schema.dropIndex('access_keys_expires_created').ifExists().execute();
}
