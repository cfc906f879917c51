import type { Db } from '../db/database.ts';
import type { Credential } from './credential.ts';
import { findCredentialRow, rowToCredential } from './credential.repository.ts';

// What other features may ask of credentials, inside their own transaction (`db`); the
// credentials table is written by this feature alone, and the sealed secret never leaves it.

/** A credential as the API shows it (no secret), to check what a cloud account attaches. */
export async function findCredential(db: Db, id: string): Promise<Credential | undefined> {
  const row = await findCredentialRow(db, id);
  return row === undefined ? undefined : rowToCredential(row);
}
