import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// PostgreSQL: what makes an access-reducing write wait until every live instance applied it
// (src/db/instances.ts). `change_sequence` is one row, a counter bumped by each such write in
// its transaction: the row lock is held to the commit, so the numbers follow commit order, the
// order in which LISTEN delivers the writes' NOTIFYs. `instances` holds each server instance's
// heartbeat and the highest number it applied. SQLite needs neither: its processes share one
// file and see each other's commits at the start of every request (PRAGMA data_version).
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await db.schema
    .createTable('change_sequence')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('change_sequence').values({ id: 1, seq: 0 }).execute();
  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('applied_seq', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await db.schema.dropTable('instances').ifExists().execute();
  await db.schema.dropTable('change_sequence').ifExists().execute();
}
