import { sql, PostgresAdapter, type Kysely, type RawBuilder } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// A name filter matching many keys walks a sort index and tests each key's name. Read from
// the table for that test, a page of "deploy" (1 key in 19) at a million keys read ~900
// random rows: 17 ms on PostgreSQL (random table pages), 14-28 ms on SQLite. With the name
// (and, on PostgreSQL, the expiry) in the sort indexes, the walk reads the index alone: 1 ms.
// - PostgreSQL carries them as INCLUDE columns (not sorted) and answers from the index with
//   or without a status filter (an index-only scan). It only does so from an index holding
//   the plain columns its indexed expressions use: the last-use index also carries
//   last_used_at, and each carries expires_at.
// - SQLite has no INCLUDE: the name and the roles are the last key columns (after the expiry
//   expression the status filter is checked on), and any index holding every column a query
//   uses covers it: a role filter (read from the table for each skipped key, like the name:
//   32 ms a page at a million keys when the table's pages had left memory) is checked there
//   too. PostgreSQL carries no roles: an index entry has a size limit, and the roles of a key
//   scoped to many accounts would exceed it.
interface ListIndex {
  name: string;
  columns: RawBuilder<unknown>;
  /** PostgreSQL: INCLUDE columns. */
  carried: string[];
  /** SQLite: key columns appended after `columns`. */
  appended: string[];
}

const EXPIRY = sql`(expires_at || '')`;
const LIST_INDEXES: ListIndex[] = [
  { name: 'access_keys_created_list', columns: sql`created_at, id, ${EXPIRY}`, carried: ['name_key', 'expires_at'], appended: ['name_key', 'roles'] },
  {
    name: 'access_keys_last_used_list',
    columns: sql`(coalesce(last_used_at, '')), id, ${EXPIRY}`,
    carried: ['name_key', 'expires_at', 'last_used_at'],
    appended: ['name_key', 'roles'],
  },
  { name: 'access_keys_roles_list', columns: sql`roles, id, ${EXPIRY}`, carried: ['name_key', 'expires_at'], appended: ['name_key'] },
  { name: 'access_keys_expires', columns: sql`expires_at, id`, carried: ['name_key'], appended: ['name_key', 'roles'] },
];

/** Drops each index and builds it again (re-runnable: SQLite migrates outside a transaction). */
async function rebuild(db: Kysely<any>, withCarried: boolean): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  for (const index of LIST_INDEXES) {
    let definition = sql`(${index.columns})`;
    if (withCarried && postgres) definition = sql`(${index.columns}) include (${sql.join(index.carried.map((c) => sql.ref(c)))})`;
    if (withCarried && !postgres) definition = sql`(${index.columns}, ${sql.join(index.appended.map((c) => sql.ref(c)))})`;
    await db.schema.dropIndex(index.name).ifExists().execute();
    await sql`create index ${sql.id(index.name)} on access_keys ${definition}`.execute(db);
  }
}

export async function up(db: Kysely<any>): Promise<void> {
  await rebuild(db, true);
}

export async function down(db: Kysely<any>): Promise<void> {
  await rebuild(db, false);
}
