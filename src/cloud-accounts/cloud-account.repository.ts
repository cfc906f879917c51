import { sql, type SqlBool } from 'kysely';
import type { AccountScope } from '../auth/permissions.ts';
import { inAccountScope } from '../db/account-scope.ts';
import type { Db } from '../db/database.ts';
import type { CloudAccountRow } from '../db/schema.ts';
import type { AccountStatus, CloudAccount, Vendor } from './cloud-account.ts';

/** The subset of `ids` that exist as cloud accounts. */
export async function existingAccountIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('cloud_accounts')
    .select('id')
    .where('id', 'in', [...ids])
    .execute();
  return new Set(rows.map((r) => r.id));
}

export function rowToCloudAccount(row: CloudAccountRow): CloudAccount {
  return {
    id: row.id,
    vendor: row.vendor as Vendor,
    displayName: row.display_name,
    externalId: row.external_id,
    status: row.status as AccountStatus,
    statusDetail: row.status_detail,
    credentialId: row.credential_id,
    createdAt: row.created_at,
  };
}

export async function insertCloudAccount(db: Db, row: CloudAccountRow): Promise<void> {
  await db.insertInto('cloud_accounts').values(row).execute();
}

/** One account, only when inside `scope`. */
export async function findCloudAccountRow(db: Db, id: string, scope: AccountScope): Promise<CloudAccountRow | undefined> {
  return db.selectFrom('cloud_accounts').selectAll().where('id', '=', id).where(inAccountScope('id', scope)).executeTakeFirst();
}

export async function updateCloudAccountRow(
  db: Db,
  id: string,
  patch: Partial<Pick<CloudAccountRow, 'display_name' | 'external_id' | 'status' | 'status_detail' | 'credential_id'>>,
): Promise<void> {
  await db.updateTable('cloud_accounts').set(patch).where('id', '=', id).execute();
}

export async function deleteCloudAccountRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('cloud_accounts').where('id', '=', id).execute();
}

export interface CloudAccountQuery {
  scope: AccountScope;
  limit: number;
  /** The display name and id of the last row of the previous page. */
  after: { name: string; id: string } | undefined;
  vendor: Vendor | undefined;
  status: AccountStatus | undefined;
}

/** One page of accounts inside the scope, by display name then id. */
export async function listCloudAccountRows(db: Db, q: CloudAccountQuery): Promise<CloudAccountRow[]> {
  let query = db.selectFrom('cloud_accounts').selectAll().where(inAccountScope('id', q.scope));
  if (q.vendor !== undefined) query = query.where('vendor', '=', q.vendor);
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.after !== undefined) {
    const { name, id } = q.after;
    query = query.where(sql<SqlBool>`(display_name > ${name} or (display_name = ${name} and id > ${id}))`);
  }
  return query.orderBy('display_name', 'asc').orderBy('id', 'asc').limit(q.limit).execute();
}

/** Accounts that use a credential (to refuse deleting it). */
export async function accountsUsingCredential(db: Db, credentialId: string): Promise<{ id: string; display_name: string }[]> {
  return db.selectFrom('cloud_accounts').select(['id', 'display_name']).where('credential_id', '=', credentialId).orderBy('display_name').execute();
}
