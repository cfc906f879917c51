import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** Who holds grants: each kind has a table of its own, with a foreign key to its holder. */
export type GrantHolder = 'access-key' | 'user';

/** A grant row, with the holder's id under one name whatever its table calls it. */
export interface GrantRow {
  holder_id: string;
  role: string;
  all_accounts: number;
  account_id: string | null;
}

const TABLES = {
  'access-key': { table: 'access_key_grants', holder: 'key_id' },
  user: { table: 'user_grants', holder: 'user_id' },
} as const satisfies Record<GrantHolder, { table: string; holder: string }>;

/** Rows or ids per statement: four parameters a row, well inside either dialect's limit. */
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) result.push(items.slice(i, i + CHUNK));
  return result;
}

export async function insertGrantRows(db: Db, holder: GrantHolder, rows: readonly GrantRow[]): Promise<void> {
  const { table, holder: column } = TABLES[holder];
  for (const chunk of chunks(rows)) {
    const values = chunk.map((r) => sql`(${r.holder_id}, ${r.role}, ${r.all_accounts}, ${r.account_id})`);
    await sql`insert into ${sql.table(table)} (${sql.ref(column)}, role, all_accounts, account_id) values ${sql.join(values)}`.execute(db);
  }
}

export async function deleteGrantRowsOf(db: Db, holder: GrantHolder, holderId: string): Promise<void> {
  const { table, holder: column } = TABLES[holder];
  await sql`delete from ${sql.table(table)} where ${sql.ref(column)} = ${holderId}`.execute(db);
}

/** The grant rows of these holders (by the holder index). */
export async function grantRowsOf(db: Db, holder: GrantHolder, holderIds: readonly string[]): Promise<GrantRow[]> {
  const { table, holder: column } = TABLES[holder];
  const rows: GrantRow[] = [];
  for (const chunk of chunks([...new Set(holderIds)])) {
    const ids = sql.join(chunk.map((id) => sql.val(id)));
    const found = await sql<GrantRow>`
      select ${sql.ref(column)} as holder_id, role, all_accounts, account_id from ${sql.table(table)}
      where ${sql.ref(column)} in (${ids})`.execute(db);
    rows.push(...found.rows);
  }
  return rows;
}

/** The holders whose grants name this account (by the account index). */
export async function holdersNamingAccount(db: Db, holder: GrantHolder, accountId: string): Promise<string[]> {
  const { table, holder: column } = TABLES[holder];
  const found = await sql<{ holder_id: string }>`
    select distinct ${sql.ref(column)} as holder_id from ${sql.table(table)} where account_id = ${accountId}`.execute(db);
  return found.rows.map((r) => r.holder_id);
}

export async function deleteAccountGrantRows(db: Db, holder: GrantHolder, accountId: string): Promise<void> {
  const { table } = TABLES[holder];
  await sql`delete from ${sql.table(table)} where account_id = ${accountId}`.execute(db);
}
