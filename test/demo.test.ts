import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { runCli } from './helpers/cli.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

describe.each(DIALECTS)('npx tessera demo (%s)', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(() => h.close());

  const counts = async () => {
    const db = h.ctx.storage.db;
    const n = async (table: 'cloud_accounts' | 'credentials' | 'assets' | 'asset_cves' | 'policy_rules') => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    return { accounts: await n('cloud_accounts'), credentials: await n('credentials'), assets: await n('assets'), cves: await n('asset_cves'), rules: await n('policy_rules') };
  };

  it('seeds a living console, and a second run changes nothing', async () => {
    const first = await runCli(['demo', '--json'], h.env);
    expect(first.code, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ cloudAccounts: { created: 6, existing: 0 }, credentials: { created: 3, existing: 0 }, policy: 'seeded' });
    const after = await counts();
    expect(after).toEqual({ accounts: 6, credentials: 3, assets: result.assets, cves: result.cveFindings, rules: 8 });
    expect(after.assets).toBeGreaterThanOrEqual(300);
    expect(after.cves).toBeGreaterThanOrEqual(50);
    const assetIds = (await h.ctx.storage.db.selectFrom('assets').select('id').orderBy('id').execute()).map((r) => r.id);

    const second = await runCli(['demo'], h.env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Demo data ready: 6 cloud accounts (0 new)');
    expect(second.stdout).toContain('npx tessera keys create --name demo --role global-admin --json');
    expect(await counts()).toEqual(after);
    expect((await h.ctx.storage.db.selectFrom('assets').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(assetIds);
  });

  it('is what the API shows, on every vendor, with secrets write-only and scopes applied', async () => {
    const admin = await h.key([{ role: 'global-admin' }]);
    const summary = (await h.request(admin.token, { method: 'GET', url: '/api/v1/reports/summary' })).json();
    expect(summary.cloudAccounts).toMatchObject({ total: 6, byVendor: { aws: 2, azure: 2, gcp: 2 }, byStatus: { connected: 4, 'connected-with-warnings': 1, error: 1 } });
    for (const vendor of ['aws', 'azure', 'gcp']) expect(summary.assets.byVendor[vendor]).toBeGreaterThan(50);
    expect(summary.assets.byExposure['internet-exposed']).toBeGreaterThan(10);
    for (const severity of ['critical', 'high', 'medium', 'low']) expect(summary.cves.bySeverity[severity]).toBeGreaterThan(0);

    const credentials = await h.request(admin.token, { method: 'GET', url: '/api/v1/credentials' });
    expect(credentials.json().items.map((c: { id: string }) => c.id).sort()).toEqual(['demo-cred-aws', 'demo-cred-azure', 'demo-cred-gcp']);
    expect(credentials.body).not.toContain('EXAMPLEKEY');

    const policy = (await h.request(admin.token, { method: 'GET', url: '/api/v1/policy/rules' })).json();
    expect(policy.rules[0].id).toBe('deny-ssh-internet');

    const viewer = await h.key([{ role: 'cloud-account-viewer', accounts: ['demo-aws-production'] }]);
    const assets = (await h.request(viewer.token, { method: 'GET', url: '/api/v1/assets?limit=200' })).json();
    expect(assets.items.length).toBe(95);
    expect(new Set(assets.items.map((a: { accountId: string }) => a.accountId))).toEqual(new Set(['demo-aws-production']));
    const exposed = (await h.request(admin.token, { method: 'GET', url: '/api/v1/assets?exposure=internet-exposed&type=virtual-machine&limit=1' })).json().items[0];
    const network = (await h.request(admin.token, { method: 'GET', url: `/api/v1/assets/${exposed.id}/network` })).json();
    expect(network.publicIps.length).toBeGreaterThan(0);
  });

  it('keeps a policy someone already wrote', async () => {
    await h.ctx.policy.replace({ name: 'test', ip: null }, [{ name: 'Mine', action: 'deny', protocol: 'any', source: 'any', destination: 'any', ports: ['any'] }]);
    const run = await runCli(['demo', '--json'], h.env);
    expect(JSON.parse(run.stdout).policy).toBe('kept');
    expect((await h.ctx.policy.get()).rules.map((r) => r.name)).toEqual(['Mine']);
  });
});
