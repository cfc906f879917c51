import { sql, type SqlBool } from 'kysely';
import type { AccountScope } from '../auth/permissions.ts';
import { inAccountScope } from '../db/account-scope.ts';
import type { Vendor } from '../cloud-accounts/cloud-account.ts';
import type { Db } from '../db/database.ts';
import type { AssetCveRow, AssetRow } from '../db/schema.ts';
import type { Asset, AssetSummary, AssetType, Cve, Exposure, NetworkConfig, Severity } from './asset.ts';

/** Rows per INSERT: 14 columns × 200 stays far below both dialects' parameter limits. */
const INSERT_CHUNK = 200;
const DELETE_CHUNK = 500;

function summaryOf(row: AssetRow): Omit<AssetSummary, 'cveCount'> {
  return {
    id: row.id,
    accountId: row.account_id,
    vendor: row.vendor as Vendor,
    resourceId: row.resource_id,
    type: row.type as AssetType,
    name: row.name,
    region: row.region,
    exposure: row.exposure as Exposure,
    tags: JSON.parse(row.tags) as Record<string, string>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function rowToAssetSummary(row: AssetRow & { cve_count: number | string }): AssetSummary {
  return { ...summaryOf(row), cveCount: Number(row.cve_count) };
}

export function rowToCve(row: AssetCveRow): Cve {
  return {
    id: row.cve_id,
    severity: row.severity as Severity,
    cvss: row.cvss_tenths === null ? null : Number(row.cvss_tenths) / 10,
    description: row.description,
    addedAt: row.added_at,
  };
}

export function rowToAsset(row: AssetRow, cves: AssetCveRow[]): Asset {
  return {
    ...summaryOf(row),
    properties: JSON.parse(row.properties) as Asset['properties'],
    securityControls: JSON.parse(row.security_controls) as Asset['securityControls'],
    cves: cves.map(rowToCve),
  };
}

export function rowToNetwork(row: AssetRow): NetworkConfig {
  return JSON.parse(row.network) as NetworkConfig;
}

/** One asset, only when its account is inside `scope`. */
export async function findAssetRow(db: Db, id: string, scope: AccountScope): Promise<AssetRow | undefined> {
  return db.selectFrom('assets').selectAll().where('id', '=', id).where(inAccountScope('account_id', scope)).executeTakeFirst();
}

export async function cvesOfAsset(db: Db, assetId: string): Promise<AssetCveRow[]> {
  // Most severe first; an unknown score sorts after known ones on both dialects.
  return db
    .selectFrom('asset_cves')
    .selectAll()
    .where('asset_id', '=', assetId)
    .orderBy(sql`case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end`)
    .orderBy(sql`coalesce(cvss_tenths, -1)`, 'desc')
    .orderBy('cve_id', 'asc')
    .execute();
}

export interface AssetQuery {
  scope: AccountScope;
  limit: number;
  /** The name and id of the last row of the previous page. */
  after: { name: string; id: string } | undefined;
  accountId: string | undefined;
  vendor: Vendor | undefined;
  type: AssetType | undefined;
  exposure: Exposure | undefined;
  /** Case-insensitive substring of the name. */
  name: string | undefined;
  /** Only assets with this CVE. */
  cve: string | undefined;
}

/** One page of assets inside the scope, filtered in SQL, by name then id. */
export async function listAssetRows(db: Db, q: AssetQuery): Promise<(AssetRow & { cve_count: number })[]> {
  let query = db
    .selectFrom('assets')
    .selectAll('assets')
    .select((eb) =>
      eb
        .selectFrom('asset_cves')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('asset_cves.asset_id', '=', 'assets.id')
        .as('cve_count'),
    )
    .where(inAccountScope('assets.account_id', q.scope));
  if (q.accountId !== undefined) query = query.where('assets.account_id', '=', q.accountId);
  if (q.vendor !== undefined) query = query.where('assets.vendor', '=', q.vendor);
  if (q.type !== undefined) query = query.where('assets.type', '=', q.type);
  if (q.exposure !== undefined) query = query.where('assets.exposure', '=', q.exposure);
  if (q.name !== undefined && q.name !== '') {
    const pattern = '%' + q.name.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
    query = query.where(sql<SqlBool>`lower(assets.name) like ${pattern} escape '\\'`);
  }
  if (q.cve !== undefined) {
    const cve = q.cve;
    query = query.where((eb) =>
      eb.exists(eb.selectFrom('asset_cves').select('asset_cves.asset_id').whereRef('asset_cves.asset_id', '=', 'assets.id').where('asset_cves.cve_id', '=', cve)),
    );
  }
  if (q.after !== undefined) {
    const { name, id } = q.after;
    query = query.where(sql<SqlBool>`(assets.name > ${name} or (assets.name = ${name} and assets.id > ${id}))`);
  }
  const rows = await query.orderBy('assets.name', 'asc').orderBy('assets.id', 'asc').limit(q.limit).execute();
  return rows.map((r) => ({ ...r, cve_count: Number(r.cve_count ?? 0) }));
}

/** Ids and creation times of an account's assets. */
export async function assetIdsOfAccount(db: Db, accountId: string): Promise<{ id: string; created_at: string }[]> {
  return db.selectFrom('assets').select(['id', 'created_at']).where('account_id', '=', accountId).execute();
}

async function deleteCvesOf(db: Db, assetIds: readonly string[]): Promise<void> {
  for (let i = 0; i < assetIds.length; i += DELETE_CHUNK) {
    await db
      .deleteFrom('asset_cves')
      .where('asset_id', 'in', assetIds.slice(i, i + DELETE_CHUNK))
      .execute();
  }
}

/**
 * Replaces an account's assets with `rows` (inside the caller's transaction). CVEs stay on
 * the assets that remain (same id) and go with the ones that do not.
 */
export async function replaceAssetsOfAccount(db: Db, accountId: string, rows: AssetRow[], removedIds: readonly string[]): Promise<void> {
  await deleteCvesOf(db, removedIds);
  await db.deleteFrom('assets').where('account_id', '=', accountId).execute();
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await db
      .insertInto('assets')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
  }
}

/** Deletes an account's assets and their CVEs; returns how many assets went. */
export async function deleteAssetsOfAccount(db: Db, accountId: string): Promise<number> {
  const existing = await assetIdsOfAccount(db, accountId);
  await deleteCvesOf(
    db,
    existing.map((a) => a.id),
  );
  await db.deleteFrom('assets').where('account_id', '=', accountId).execute();
  return existing.length;
}

/** Adds CVEs to an asset; one already there is updated (severity, score, description). */
export async function upsertCves(db: Db, rows: AssetCveRow[]): Promise<void> {
  for (const row of rows) {
    await db
      .insertInto('asset_cves')
      .values(row)
      .onConflict((oc) => oc.columns(['asset_id', 'cve_id']).doUpdateSet({ severity: row.severity, cvss_tenths: row.cvss_tenths, description: row.description }))
      .execute();
  }
}

export async function deleteCve(db: Db, assetId: string, cveId: string): Promise<boolean> {
  const result = await db.deleteFrom('asset_cves').where('asset_id', '=', assetId).where('cve_id', '=', cveId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
