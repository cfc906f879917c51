import { ACCOUNT_STATUSES, VENDORS, type AccountStatus, type Vendor } from '../cloud-accounts/cloud-account.ts';
import { EXPOSURES, SEVERITIES, type Exposure, type Severity } from '../assets/asset.ts';

/** Counts over what the caller may see, and nothing else. */
export interface Summary {
  cloudAccounts: { total: number; byVendor: Record<Vendor, number>; byStatus: Record<AccountStatus, number> };
  assets: { total: number; byVendor: Record<Vendor, number>; byExposure: Record<Exposure, number> };
  cves: { total: number; bySeverity: Record<Severity, number>; affectedAssets: number };
}

/** A record with every key of `keys` at 0, then the counts found. */
export function tally<K extends string>(keys: readonly K[], rows: readonly { key: string; n: number | string }[]): { total: number; counts: Record<K, number> } {
  const counts = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  let total = 0;
  for (const row of rows) {
    const n = Number(row.n);
    total += n;
    if ((keys as readonly string[]).includes(row.key)) counts[row.key as K] += n;
  }
  return { total, counts };
}

export const KEYS = { VENDORS, ACCOUNT_STATUSES, EXPOSURES, SEVERITIES };
