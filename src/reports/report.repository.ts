import type { AccountScope } from '../auth/permissions.ts';
import { inAccountScope } from '../db/account-scope.ts';
import type { Db } from '../db/database.ts';

type Count = { key: string; n: number };

/** Accounts inside the scope, grouped by `column`. */
export async function countAccountsBy(db: Db, scope: AccountScope, column: 'vendor' | 'status'): Promise<Count[]> {
  return db
    .selectFrom('cloud_accounts')
    .select([`${column} as key`, (eb) => eb.fn.countAll<number>().as('n')])
    .where(inAccountScope('id', scope))
    .groupBy(column)
    .execute();
}

/** Assets inside the scope, grouped by `column`. */
export async function countAssetsBy(db: Db, scope: AccountScope, column: 'vendor' | 'exposure'): Promise<Count[]> {
  return db
    .selectFrom('assets')
    .select([`${column} as key`, (eb) => eb.fn.countAll<number>().as('n')])
    .where(inAccountScope('account_id', scope))
    .groupBy(column)
    .execute();
}

/** CVE findings (one per CVE per asset) on assets inside the scope, by severity. */
export async function countCvesBySeverity(db: Db, scope: AccountScope): Promise<Count[]> {
  return db
    .selectFrom('asset_cves')
    .innerJoin('assets', 'assets.id', 'asset_cves.asset_id')
    .select(['asset_cves.severity as key', (eb) => eb.fn.countAll<number>().as('n')])
    .where(inAccountScope('assets.account_id', scope))
    .groupBy('asset_cves.severity')
    .execute();
}

/** Assets inside the scope with at least one CVE. */
export async function countAffectedAssets(db: Db, scope: AccountScope): Promise<number> {
  const row = await db
    .selectFrom('asset_cves')
    .innerJoin('assets', 'assets.id', 'asset_cves.asset_id')
    .select((eb) => eb.fn.count<number>('asset_cves.asset_id').distinct().as('n'))
    .where(inAccountScope('assets.account_id', scope))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
