import type { AccountScope } from '../auth/permissions.ts';
import type { Db } from '../db/database.ts';
import type { CloudAccount } from './cloud-account.ts';
import { accountsUsingCredential, findCloudAccountRow, rowToCloudAccount } from './cloud-account.repository.ts';

// What other features may ask of cloud accounts, inside their own transaction (`db`); the
// cloud_accounts table is written by this feature alone.

/** One account, only when inside `scope` (assets are replaced only in an account the caller can see). */
export async function findCloudAccount(db: Db, id: string, scope: AccountScope): Promise<CloudAccount | undefined> {
  const row = await findCloudAccountRow(db, id, scope);
  return row === undefined ? undefined : rowToCloudAccount(row);
}

/** The accounts that use a credential, by display name (a credential in use cannot be deleted). */
export async function accountsOfCredential(db: Db, credentialId: string): Promise<Pick<CloudAccount, 'id' | 'displayName'>[]> {
  const rows = await accountsUsingCredential(db, credentialId);
  return rows.map((row) => ({ id: row.id, displayName: row.display_name }));
}
