import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { assetIdFor } from '../src/assets/asset.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount, putAssets, vm } from './helpers/inventory.ts';

describe.each(DIALECTS)('reports summary (%s)', (dialect) => {
  let h: Harness;
  let ids: { aws: string; azure: string; gcp: string };

  beforeAll(async () => {
    h = await createHarness(dialect);
    const aws = await addAccount(h, 'aws', 'AWS');
    const azure = await addAccount(h, 'azure', 'Azure');
    const gcp = await addAccount(h, 'gcp', 'GCP');
    await h.ctx.cloudAccounts.edit(CLI_ACTOR, { all: true }, azure.id, { status: 'connected-with-warnings', statusDetail: 'partial' });
    ids = { aws: aws.id, azure: azure.id, gcp: gcp.id };
    await putAssets(h, aws.id, [vm('a1', { exposed: true }), vm('a2'), vm('a3')]);
    await putAssets(h, azure.id, [vm('z1', { exposed: true }), vm('z2', { exposed: true })]);
    await putAssets(h, gcp.id, [vm('g1')]);
    const add = (account: string, resource: string, cves: { id: string; severity: 'critical' | 'high' | 'medium' | 'low' }[]) =>
      h.ctx.assets.addCves(CLI_ACTOR, { all: true }, assetIdFor(account, resource), cves);
    await add(aws.id, 'a1', [
      { id: 'CVE-2021-44228', severity: 'critical' },
      { id: 'CVE-2022-0001', severity: 'medium' },
    ]);
    await add(aws.id, 'a2', [{ id: 'CVE-2021-44228', severity: 'critical' }]);
    await add(azure.id, 'z1', [{ id: 'CVE-2023-1111', severity: 'high' }]);
    await add(gcp.id, 'g1', [{ id: 'CVE-2020-2222', severity: 'low' }]);
  });
  afterAll(() => h.close());

  const summary = async (token: string) => {
    const res = await h.request(token, { method: 'GET', url: '/api/v1/reports/summary' });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  it('counts everything for a global role', async () => {
    const { token } = await h.key([{ role: 'global-viewer' }]);
    expect(await summary(token)).toEqual({
      cloudAccounts: { total: 3, byVendor: { aws: 1, azure: 1, gcp: 1 }, byStatus: { connected: 0, 'connected-with-warnings': 1, error: 2 } },
      assets: { total: 6, byVendor: { aws: 3, azure: 2, gcp: 1 }, byExposure: { 'internet-exposed': 3, 'no-internet': 3 } },
      cves: { total: 5, bySeverity: { critical: 2, high: 1, medium: 1, low: 1 }, affectedAssets: 4 },
    });
  });

  it('counts only the granted accounts for a Cloud Account Viewer', async () => {
    const { token } = await h.key([{ role: 'cloud-account-viewer', accounts: [ids.aws, ids.gcp] }]);
    expect(await summary(token)).toEqual({
      cloudAccounts: { total: 2, byVendor: { aws: 1, azure: 0, gcp: 1 }, byStatus: { connected: 0, 'connected-with-warnings': 0, error: 2 } },
      assets: { total: 4, byVendor: { aws: 3, azure: 0, gcp: 1 }, byExposure: { 'internet-exposed': 1, 'no-internet': 3 } },
      cves: { total: 4, bySeverity: { critical: 2, high: 0, medium: 1, low: 1 }, affectedAssets: 3 },
    });
  });

  it('counts nothing once the only granted account is deleted', async () => {
    const extra = await addAccount(h, 'aws', 'Temporary');
    await putAssets(h, extra.id, [vm('t1')]);
    const { token } = await h.key([{ role: 'cloud-account-viewer', accounts: [extra.id] }]);
    expect((await summary(token)).assets.total).toBe(1);
    await h.ctx.cloudAccounts.remove(CLI_ACTOR, { all: true }, extra.id);
    const after = await summary(token);
    expect(after.cloudAccounts.total).toBe(0);
    expect(after.assets.total).toBe(0);
    expect(after.cves.total).toBe(0);
  });
});
