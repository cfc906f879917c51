import type { Kysely } from 'kysely';
import type { AccountScope } from '../auth/permissions.ts';
import type { Database } from '../db/schema.ts';
import { KEYS, tally, type Summary } from './report.ts';
import { countAccountsBy, countAffectedAssets, countAssetsBy, countCvesBySeverity } from './report.repository.ts';

/** Reports: every count is computed in SQL over the caller's account scope. */
export class ReportService {
  constructor(private readonly db: Kysely<Database>) {}

  async summary(scope: AccountScope): Promise<Summary> {
    const [accountsByVendor, accountsByStatus, assetsByVendor, assetsByExposure, cvesBySeverity, affectedAssets] = await Promise.all([
      countAccountsBy(this.db, scope, 'vendor'),
      countAccountsBy(this.db, scope, 'status'),
      countAssetsBy(this.db, scope, 'vendor'),
      countAssetsBy(this.db, scope, 'exposure'),
      countCvesBySeverity(this.db, scope),
      countAffectedAssets(this.db, scope),
    ]);
    const accounts = tally(KEYS.VENDORS, accountsByVendor);
    const assets = tally(KEYS.VENDORS, assetsByVendor);
    const cves = tally(KEYS.SEVERITIES, cvesBySeverity);
    return {
      cloudAccounts: { total: accounts.total, byVendor: accounts.counts, byStatus: tally(KEYS.ACCOUNT_STATUSES, accountsByStatus).counts },
      assets: { total: assets.total, byVendor: assets.counts, byExposure: tally(KEYS.EXPOSURES, assetsByExposure).counts },
      cves: { total: cves.total, bySeverity: cves.counts, affectedAssets },
    };
  }
}
