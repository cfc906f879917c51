import { assetIdFor } from '../assets/asset.ts';
import type { Actor } from '../auth/principal.ts';
import type { Context } from '../context.ts';
import { DEMO_ACCOUNTS, DEMO_CREDENTIALS, DEMO_POLICY, demoAssets, demoCvesFor } from './demo-data.ts';

export const DEMO_ACTOR: Actor = Object.freeze({ name: 'demo', ip: null });

export interface DemoResult {
  cloudAccounts: { created: number; existing: number };
  credentials: { created: number; existing: number };
  assets: number;
  cveFindings: number;
  policy: 'seeded' | 'kept';
}

/**
 * Seeds the demo set (accounts on all three clouds, their credentials, hundreds of assets,
 * CVEs and a policy) through the same services as the API, so every rule and audit record
 * applies. Idempotent: ids are fixed and inventories generated from a seed, so a second run
 * ends in the same state. An existing policy is never overwritten; a demo account that was
 * edited keeps its edits (its inventory is reset).
 */
export async function seedDemo(ctx: Context): Promise<DemoResult> {
  const result: DemoResult = { cloudAccounts: { created: 0, existing: 0 }, credentials: { created: 0, existing: 0 }, assets: 0, cveFindings: 0, policy: 'kept' };
  for (const credential of DEMO_CREDENTIALS) {
    const exists = await ctx.storage.db.selectFrom('credentials').select('id').where('id', '=', credential.id).executeTakeFirst();
    if (exists !== undefined) {
      result.credentials.existing++;
      continue;
    }
    await ctx.credentials.create(DEMO_ACTOR, { vendor: credential.vendor, displayName: credential.displayName, secret: credential.secret }, credential.id);
    result.credentials.created++;
  }
  for (const account of DEMO_ACCOUNTS) {
    if (await ctx.cloudAccounts.exists(account.id)) {
      result.cloudAccounts.existing++;
    } else {
      await ctx.cloudAccounts.create(
        DEMO_ACTOR,
        {
          vendor: account.vendor,
          displayName: account.displayName,
          externalId: account.externalId,
          credentialId: account.credentialId,
          status: account.status,
          statusDetail: account.statusDetail,
        },
        account.id,
      );
      result.cloudAccounts.created++;
    }
    const assets = demoAssets(account);
    await ctx.assets.replace(DEMO_ACTOR, { all: true }, account.id, assets);
    result.assets += assets.length;
    const cves = demoCvesFor(
      account.id,
      assets.map((a) => a.resourceId),
      assets.map((a) => a.type),
    );
    for (const [resourceId, list] of cves) {
      await ctx.assets.addCves(DEMO_ACTOR, { all: true }, assetIdFor(account.id, resourceId), list);
      result.cveFindings += list.length;
    }
  }
  if ((await ctx.policy.get()).rules.length === 0) {
    await ctx.policy.replace(DEMO_ACTOR, DEMO_POLICY);
    result.policy = 'seeded';
  }
  return result;
}
