import type { Kysely } from 'kysely';
import type { AccountScope } from '../auth/permissions.ts';
import type { Actor } from '../auth/principal.ts';
import { findCloudAccount } from '../cloud-accounts/cloud-account.public.ts';
import type { Vendor } from '../cloud-accounts/cloud-account.ts';
import type { AssetCveRow, AssetRow, Database } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { notFound, validationFailed } from '../http/errors.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import {
  assetIdFor,
  deriveExposure,
  normalizeCve,
  normalizeNetwork,
  type Asset,
  type AssetInput,
  type AssetSummary,
  type AssetType,
  type Exposure,
  type NetworkConfig,
  type Severity,
} from './asset.ts';
import {
  assetIdsOfAccount,
  cvesOfAsset,
  deleteCve,
  findAssetRow,
  listAssetRows,
  replaceAssetsOfAccount,
  rowToAsset,
  rowToAssetSummary,
  rowToNetwork,
  upsertCves,
} from './asset.repository.ts';

export interface AssetListOptions {
  limit?: number | undefined;
  cursor?: string | undefined;
  accountId?: string | undefined;
  vendor?: Vendor | undefined;
  type?: AssetType | undefined;
  exposure?: Exposure | undefined;
  name?: string | undefined;
  cve?: string | undefined;
}

export interface ReplaceResult {
  accountId: string;
  assets: number;
  added: number;
  updated: number;
  removed: number;
}

export interface CveInput {
  id: string;
  severity: Severity;
  cvss?: number | null | undefined;
  description?: string | null | undefined;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

/** The inventory: connectors replace an account's assets; everyone else reads inside their scope. */
export class AssetService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
  ) {}

  async list(scope: AccountScope, options: AssetListOptions = {}): Promise<{ items: AssetSummary[]; nextCursor: string | null }> {
    const limit = Math.min(options.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let after: { name: string; id: string } | undefined;
    if (options.cursor !== undefined) {
      const [name, id] = decodeCursor(options.cursor, 2) as [string, string];
      after = { name, id };
    }
    const rows = await listAssetRows(this.db, {
      scope,
      limit: limit + 1,
      after,
      accountId: options.accountId,
      vendor: options.vendor,
      type: options.type,
      exposure: options.exposure,
      name: options.name,
      cve: options.cve?.trim().toUpperCase(),
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map(rowToAssetSummary), nextCursor: rows.length > limit && last !== undefined ? encodeCursor([last.name, last.id]) : null };
  }

  async get(scope: AccountScope, id: string): Promise<Asset> {
    const row = await findAssetRow(this.db, id, scope);
    if (row === undefined) throw notFound('The asset');
    return rowToAsset(row, await cvesOfAsset(this.db, id));
  }

  async network(scope: AccountScope, id: string): Promise<NetworkConfig & { assetId: string; accountId: string }> {
    const row = await findAssetRow(this.db, id, scope);
    if (row === undefined) throw notFound('The asset');
    return { assetId: row.id, accountId: row.account_id, ...rowToNetwork(row) };
  }

  /**
   * Replaces every asset of an account in one transaction: readers see the old set or the
   * new one, never a mix. A resource sent again keeps its id, creation time and CVEs.
   */
  async replace(actor: Actor, scope: AccountScope, accountId: string, inputs: AssetInput[]): Promise<ReplaceResult> {
    const seen = new Map<string, number>();
    inputs.forEach((input, i) => {
      const earlier = seen.get(input.resourceId);
      if (earlier !== undefined) throw validationFailed(`/assets/${i}/resourceId`, `repeats /assets/${earlier}/resourceId`);
      seen.set(input.resourceId, i);
    });
    return this.transactions.run(actor, async (work) => {
      const account = await findCloudAccount(work.trx, accountId, scope);
      if (account === undefined) throw notFound('The cloud account');
      const existing = new Map((await assetIdsOfAccount(work.trx, accountId)).map((a) => [a.id, a.created_at]));
      const now = work.now.toISOString();
      const rows: AssetRow[] = inputs.map((input, i) => {
        const network = normalizeNetwork(input.network, `/assets/${i}`);
        const id = assetIdFor(accountId, input.resourceId);
        return {
          id,
          account_id: accountId,
          vendor: account.vendor,
          resource_id: input.resourceId,
          type: input.type,
          name: input.name.trim() || input.resourceId,
          region: input.region,
          exposure: input.exposure ?? deriveExposure(network),
          tags: JSON.stringify(input.tags ?? {}),
          properties: JSON.stringify(input.properties ?? {}),
          security_controls: JSON.stringify((input.securityControls ?? []).map((c) => ({ name: c.name, status: c.status, detail: c.detail ?? null }))),
          network: JSON.stringify(network),
          created_at: existing.get(id) ?? now,
          updated_at: now,
        };
      });
      const kept = new Set(rows.map((r) => r.id));
      const removed = [...existing.keys()].filter((id) => !kept.has(id));
      await replaceAssetsOfAccount(work.trx, accountId, rows, removed);
      const result: ReplaceResult = {
        accountId,
        assets: rows.length,
        added: rows.filter((r) => !existing.has(r.id)).length,
        updated: rows.filter((r) => existing.has(r.id)).length,
        removed: removed.length,
      };
      work.audit({ category: 'assets', resource: account.displayName, resourceId: accountId, action: 'replace', detail: { ...result } });
      return result;
    });
  }

  /** Adds CVEs to an asset (one already there is updated); returns the asset. */
  async addCves(actor: Actor, scope: AccountScope, assetId: string, inputs: CveInput[]): Promise<Asset> {
    const cves = inputs.map((input, i) => normalizeCve(input, `/cves/${i}`));
    const ids = new Set<string>();
    cves.forEach((c, i) => {
      if (ids.has(c.id)) throw validationFailed(`/cves/${i}/id`, `repeats ${c.id}`);
      ids.add(c.id);
    });
    return this.transactions.run(actor, async (work) => {
      const row = await findAssetRow(work.trx, assetId, scope);
      if (row === undefined) throw notFound('The asset');
      const rows: AssetCveRow[] = cves.map((c) => ({
        asset_id: assetId,
        cve_id: c.id,
        severity: c.severity,
        cvss_tenths: c.cvssTenths,
        description: c.description,
        added_at: work.now.toISOString(),
      }));
      await upsertCves(work.trx, rows);
      work.audit({ category: 'cves', resource: row.name, resourceId: assetId, action: 'add', detail: { cves: cves.map((c) => ({ id: c.id, severity: c.severity })) } });
      return rowToAsset(row, await cvesOfAsset(work.trx, assetId));
    });
  }

  async removeCve(actor: Actor, scope: AccountScope, assetId: string, cveId: string): Promise<void> {
    const id = cveId.trim().toUpperCase();
    await this.transactions.run(actor, async (work) => {
      const row = await findAssetRow(work.trx, assetId, scope);
      if (row === undefined) throw notFound('The asset');
      if (!(await deleteCve(work.trx, assetId, id))) throw notFound(`${id} on this asset`);
      work.audit({ category: 'cves', resource: row.name, resourceId: assetId, action: 'delete', detail: { cve: id } });
    });
  }
}
