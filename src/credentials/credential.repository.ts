import { sql, type SqlBool } from 'kysely';
import type { Vendor } from '../cloud-accounts/cloud-account.ts';
import type { Db } from '../db/database.ts';
import type { CredentialRow } from '../db/schema.ts';
import { secretPresence, type Credential } from './credential.ts';

/** The API's view of a row: the sealed secret never leaves this function. */
export function rowToCredential(row: CredentialRow): Credential {
  const vendor = row.vendor as Vendor;
  return {
    id: row.id,
    vendor,
    displayName: row.display_name,
    secret: secretPresence(vendor, JSON.parse(row.secret_fields) as string[]),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertCredential(db: Db, row: CredentialRow): Promise<void> {
  await db.insertInto('credentials').values(row).execute();
}

export async function findCredentialRow(db: Db, id: string): Promise<CredentialRow | undefined> {
  return db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateCredentialRow(
  db: Db,
  id: string,
  patch: Partial<Pick<CredentialRow, 'display_name' | 'secret_sealed' | 'secret_fields' | 'updated_at'>>,
): Promise<void> {
  await db.updateTable('credentials').set(patch).where('id', '=', id).execute();
}

export async function deleteCredentialRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('credentials').where('id', '=', id).execute();
}

export interface CredentialQuery {
  limit: number;
  after: { name: string; id: string } | undefined;
  vendor: Vendor | undefined;
}

/** One page of credentials by display name then id. */
export async function listCredentialRows(db: Db, q: CredentialQuery): Promise<CredentialRow[]> {
  let query = db.selectFrom('credentials').selectAll();
  if (q.vendor !== undefined) query = query.where('vendor', '=', q.vendor);
  if (q.after !== undefined) {
    const { name, id } = q.after;
    query = query.where(sql<SqlBool>`(display_name > ${name} or (display_name = ${name} and id > ${id}))`);
  }
  return query.orderBy('display_name', 'asc').orderBy('id', 'asc').limit(q.limit).execute();
}
