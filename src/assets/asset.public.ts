import type { Db } from '../db/database.ts';
import { deleteAssetsOfAccount } from './asset.repository.ts';

// What other features may do to assets, inside their own transaction (`db`); the assets and
// asset_cves tables are written by this feature alone.

/** Deletes a removed cloud account's assets and their CVEs; returns how many assets went. */
export function removeAssetsOfAccount(db: Db, accountId: string): Promise<number> {
  return deleteAssetsOfAccount(db, accountId);
}
