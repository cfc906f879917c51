import { sql, PostgresAdapter, type Kysely, type RawBuilder } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// PostgreSQL only. A name filter matching many keys walks a sort index and tests each key's
// name. A plain index scan reads every walked key from the table for that test: at a million
// keys, a page of "deploy" (1 key in 19) read ~900 random table pages (17 ms). With the name
// and the expiry in the sort indexes (INCLUDE: carried, not sorted), PostgreSQL walks the
// index alone (an index-only scan: 1 ms), with or without a status filter. The last-use
// index also carries last_used_at: PostgreSQL only answers from an index that holds the plain
// columns an indexed expression uses. SQLite already stops at the 50 matches it needs.
interface ListIndex {
  name: string;
  columns: RawBuilder<unknown>;
  carried: string[];
}

const EXPIRY = sql`(expires_at || '')`;
const LIST_INDEXES: ListIndex[] = [
  { name: 'access_keys_created_list', columns: sql`created_at, id, ${EXPIRY}`, carried: ['name_key', 'expires_at'] },
  { name: 'access_keys_last_used_list', columns: sql`(coalesce(last_used_at, '')), id, ${EXPIRY}`, carried: ['name_key', 'expires_at', 'last_used_at'] },
  { name: 'access_keys_roles_list', columns: sql`roles, id, ${EXPIRY}`, carried: ['name_key', 'expires_at'] },
  { name: 'access_keys_expires', columns: sql`expires_at, id`, carried: ['name_key'] },
];

/** Builds each index anew under a temporary name, then takes the old one's place. */
async function rebuild(db: Kysely<any>, withCarried: boolean): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  for (const index of LIST_INDEXES) {
    const building = `${index.name}_next`;
    const include = withCarried ? sql` include (${sql.join(index.carried.map((c) => sql.ref(c)))})` : sql``;
    await sql`create index ${sql.id(building)} on access_keys (${index.columns})${include}`.execute(db);
    await db.schema.dropIndex(index.name).execute();
    await sql`alter index ${sql.id(building)} rename to ${sql.id(index.name)}`.execute(db);
  }
}

export async function up(db: Kysely<any>): Promise<void> {
  await rebuild(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  await rebuild(db, false);
}
