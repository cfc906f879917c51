import { sql, PostgresAdapter, type Kysely, type RawBuilder } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// Grants move from JSON text (access_keys.roles, users.roles) into rows: access_key_grants and
// user_grants, one head row per role held (account_id null; all_accounts 1 when the role covers
// every account) and one row per account of a Cloud Account Viewer limited to a list. A key also
// gets role_set, the position of its set of roles in the role-sort order (src/auth/grants.ts,
// ROLE_SETS, copied below as it is today): the list sorts and filters by role on that column,
// which every list index carries. The roles text leaves the tables and the list indexes, which
// are rebuilt with role_set in its place (PostgreSQL carries it as an INCLUDE column too: a
// small integer, unlike the text, fits any index entry).
// Keys and users are moved in batches, only those not moved yet (role_set null; a user without
// grant rows), so that an interrupted run (SQLite migrates outside a transaction) resumes.

/** ROLE_SETS of src/auth/grants.ts when this migration was written, as role lists. */
const ROLE_SETS = [
  'cloud-account-viewer',
  'global-admin',
  'global-admin,cloud-account-viewer',
  'global-admin,global-viewer',
  'global-admin,global-viewer,cloud-account-viewer',
  'global-viewer',
  'global-viewer,cloud-account-viewer',
];
const ROLE_ORDER = ['global-admin', 'global-viewer', 'cloud-account-viewer'];

type StoredGrant = { role: string; accounts?: 'all' | string[] };

const BATCH = 2000;

function grantRows(holderId: string, grants: StoredGrant[]) {
  return grants.flatMap((grant) => {
    const listed = Array.isArray(grant.accounts) ? grant.accounts : undefined;
    const head = { holder_id: holderId, role: grant.role, all_accounts: listed === undefined ? 1 : 0, account_id: null as string | null };
    return [head, ...(listed ?? []).map((accountId) => ({ ...head, all_accounts: 0, account_id: accountId }))];
  });
}

function roleSet(grants: StoredGrant[]): number {
  const held = ROLE_ORDER.filter((role) => grants.some((g) => g.role === role)).join(',');
  const position = ROLE_SETS.indexOf(held);
  if (position < 0) throw new Error(`stored roles hold no known role: ${JSON.stringify(grants)}`);
  return position;
}

async function insertGrants(db: Kysely<any>, table: string, column: string, rows: ReturnType<typeof grantRows>): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map((r) => sql`(${r.holder_id}, ${r.role}, ${r.all_accounts}, ${r.account_id})`);
    await sql`insert into ${sql.table(table)} (${sql.ref(column)}, role, all_accounts, account_id) values ${sql.join(values)}`.execute(db);
  }
}

async function createGrantTable(db: Kysely<any>, table: string, column: string, holders: string): Promise<void> {
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn(column, 'text', (c) => c.notNull().references(`${holders}.id`).onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('all_accounts', 'integer', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.references('cloud_accounts.id'))
    .execute();
  await db.schema.createIndex(`${table}_holder`).ifNotExists().on(table).columns([column, 'role']).execute();
  // "Which holders can see account X" and the account's removal read this index.
  await db.schema.createIndex(`${table}_account`).ifNotExists().on(table).column('account_id').where(sql.ref('account_id'), 'is not', null).execute();
}

async function moveKeys(db: Kysely<any>): Promise<void> {
  for (;;) {
    const keys = (await db.selectFrom('access_keys').select(['id', 'roles']).where('role_set', 'is', null).orderBy('id').limit(BATCH).execute()) as Array<{
      id: string;
      roles: string;
    }>;
    if (keys.length === 0) return;
    const ids = keys.map((k) => k.id);
    await db.deleteFrom('access_key_grants').where('key_id', 'in', ids).execute();
    const bySet = new Map<number, string[]>();
    const rows = [];
    for (const key of keys) {
      const grants = JSON.parse(key.roles) as StoredGrant[];
      rows.push(...grantRows(key.id, grants));
      const set = roleSet(grants);
      bySet.set(set, [...(bySet.get(set) ?? []), key.id]);
    }
    await insertGrants(db, 'access_key_grants', 'key_id', rows);
    for (const [set, members] of bySet) await db.updateTable('access_keys').set({ role_set: set }).where('id', 'in', members).execute();
  }
}

async function moveUsers(db: Kysely<any>): Promise<void> {
  const users = (await db
    .selectFrom('users')
    .select(['id', 'roles'])
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('user_grants').select('user_id').whereRef('user_grants.user_id', '=', 'users.id'))))
    .execute()) as Array<{ id: string; roles: string }>;
  await insertGrants(
    db,
    'user_grants',
    'user_id',
    users.flatMap((u) => grantRows(u.id, JSON.parse(u.roles) as StoredGrant[])),
  );
}

const EXPIRY = sql`(expires_at || '')`;
interface ListIndex {
  name: string;
  columns: RawBuilder<unknown>;
  /** PostgreSQL: INCLUDE columns. SQLite (no INCLUDE): key columns appended. */
  carried: string[];
}

/** The list indexes of 2026-11-27T12/T13, with role_set where the roles were (and, on PostgreSQL, carried too). */
const LIST_INDEXES: ListIndex[] = [
  { name: 'access_keys_created_list', columns: sql`created_at, id, ${EXPIRY}`, carried: ['name_key', 'expires_at', 'role_set'] },
  { name: 'access_keys_last_used_list', columns: sql`(coalesce(last_used_at, '')), id, ${EXPIRY}`, carried: ['name_key', 'expires_at', 'last_used_at', 'role_set'] },
  { name: 'access_keys_name_list', columns: sql`name_key, id, ${EXPIRY}`, carried: ['expires_at', 'role_set'] },
  { name: 'access_keys_expires', columns: sql`expires_at, id`, carried: ['name_key', 'role_set'] },
];
const OLD_ROLE_INDEX = 'access_keys_roles_list';
const ROLE_INDEX: ListIndex = { name: 'access_keys_role_set_list', columns: sql`role_set, id, ${EXPIRY}`, carried: ['name_key', 'expires_at'] };

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const columns = await sql<{ name: string }>`${
    postgres
      ? sql`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = 'access_keys'`
      : sql`select name from pragma_table_info('access_keys')`
  }`.execute(db);
  if (!columns.rows.some((c) => c.name === 'role_set')) await db.schema.alterTable('access_keys').addColumn('role_set', 'integer').execute();
  await createGrantTable(db, 'access_key_grants', 'key_id', 'access_keys');
  await createGrantTable(db, 'user_grants', 'user_id', 'users');
  if (columns.rows.some((c) => c.name === 'roles')) {
    await moveKeys(db);
    await moveUsers(db);
  }
  if (postgres) await sql`alter table access_keys alter column role_set set not null`.execute(db);

  // Rebuild every index that holds the roles text (SQLite: all the list indexes; PostgreSQL: the
  // role-sort index) with role_set instead, and the others (PostgreSQL) to carry role_set too.
  for (const index of [...LIST_INDEXES, ROLE_INDEX]) {
    const definition = postgres
      ? sql`(${index.columns}) include (${sql.join(index.carried.map((c) => sql.ref(c)))})`
      : sql`(${index.columns}, ${sql.join(index.carried.filter((c) => c !== 'expires_at' && c !== 'last_used_at').map((c) => sql.ref(c)))})`;
    await db.schema.dropIndex(index.name).ifExists().execute();
    await sql`create index ${sql.id(index.name)} on access_keys ${definition}`.execute(db);
  }
  await db.schema.dropIndex(OLD_ROLE_INDEX).ifExists().execute();
  if (columns.rows.some((c) => c.name === 'roles')) await db.schema.alterTable('access_keys').dropColumn('roles').execute();
  const userColumns = await sql<{ name: string }>`${
    postgres
      ? sql`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = 'users'`
      : sql`select name from pragma_table_info('users')`
  }`.execute(db);
  if (userColumns.rows.some((c) => c.name === 'roles')) await db.schema.alterTable('users').dropColumn('roles').execute();
}

/** Grants back into JSON text, in the merged order the code before this migration stored. */
function storedText(rows: Array<{ role: string; all_accounts: number; account_id: string | null }>): string {
  const heads = rows.filter((r) => r.account_id === null).sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
  return JSON.stringify(
    heads.map((head) => {
      if (head.role !== 'cloud-account-viewer') return { role: head.role };
      if (Number(head.all_accounts) === 1) return { role: head.role, accounts: 'all' };
      return { role: head.role, accounts: rows.flatMap((r) => (r.account_id === null ? [] : [r.account_id])).sort() };
    }),
  );
}

async function restoreText(db: Kysely<any>, table: string, grantTable: string, column: string): Promise<void> {
  await db.schema.alterTable(table).addColumn('roles', 'text').execute();
  for (;;) {
    const holders = (await db.selectFrom(table).select('id').where('roles', 'is', null).orderBy('id').limit(BATCH).execute()) as Array<{ id: string }>;
    if (holders.length === 0) return;
    const rows = (await db
      .selectFrom(grantTable)
      .select([`${column} as holder_id`, 'role', 'all_accounts', 'account_id'])
      .where(
        column,
        'in',
        holders.map((h) => h.id),
      )
      .execute()) as Array<{ holder_id: string; role: string; all_accounts: number; account_id: string | null }>;
    for (const holder of holders) {
      await db
        .updateTable(table)
        .set({ roles: storedText(rows.filter((r) => r.holder_id === holder.id)) })
        .where('id', '=', holder.id)
        .execute();
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await restoreText(db, 'access_keys', 'access_key_grants', 'key_id');
  await restoreText(db, 'users', 'user_grants', 'user_id');
  for (const index of [...LIST_INDEXES, ROLE_INDEX]) await db.schema.dropIndex(index.name).ifExists().execute();
  await db.schema.alterTable('access_keys').dropColumn('role_set').execute();
  await db.schema.dropTable('access_key_grants').execute();
  await db.schema.dropTable('user_grants').execute();
  // The indexes as 2026-11-27T12 and T13 left them (the roles text as a key column on SQLite).
  const sqliteRoles = postgres ? [] : ['roles'];
  const previous: Array<{ name: string; columns: RawBuilder<unknown>; carried: string[]; appended: string[] }> = [
    { name: 'access_keys_created_list', columns: sql`created_at, id, ${EXPIRY}`, carried: ['name_key', 'expires_at'], appended: ['name_key', ...sqliteRoles] },
    {
      name: 'access_keys_last_used_list',
      columns: sql`(coalesce(last_used_at, '')), id, ${EXPIRY}`,
      carried: ['name_key', 'expires_at', 'last_used_at'],
      appended: ['name_key', ...sqliteRoles],
    },
    { name: OLD_ROLE_INDEX, columns: sql`roles, id, ${EXPIRY}`, carried: ['name_key', 'expires_at'], appended: ['name_key'] },
    { name: 'access_keys_expires', columns: sql`expires_at, id`, carried: ['name_key'], appended: ['name_key', ...sqliteRoles] },
    { name: 'access_keys_name_list', columns: sql`name_key, id, ${EXPIRY}`, carried: [], appended: sqliteRoles },
  ];
  for (const index of previous) {
    const extra = postgres ? index.carried : index.appended;
    const definition =
      extra.length === 0
        ? sql`(${index.columns})`
        : postgres
          ? sql`(${index.columns}) include (${sql.join(extra.map((c) => sql.ref(c)))})`
          : sql`(${index.columns}, ${sql.join(extra.map((c) => sql.ref(c)))})`;
    await sql`create index ${sql.id(index.name)} on access_keys ${definition}`.execute(db);
  }
}
