import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetIdFor } from '../src/assets/asset.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount, putAssets, vm } from './helpers/inventory.ts';
import type { CloudAccount } from '../src/cloud-accounts/cloud-account.ts';

describe.each(DIALECTS)('assets API (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let aws: CloudAccount;
  let gcp: CloudAccount;

  const get = (url: string, token = admin) => h.request(token, { method: 'GET', url });
  const ids = (res: { json(): { items: { id: string }[] } }) => res.json().items.map((a) => a.id);

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
    aws = await addAccount(h, 'aws', 'AWS');
    gcp = await addAccount(h, 'gcp', 'GCP');
    await putAssets(h, aws.id, [vm('i-1', { name: 'alpha', exposed: true }), vm('i-2', { name: 'bravo' }), vm('db-1', { name: 'charlie-db', type: 'database' })]);
    await putAssets(h, gcp.id, [vm('gce-1', { name: 'delta', exposed: true }), vm('gce-2', { name: 'echo' })]);
  });
  afterAll(() => h.close());

  it("replaces an account's assets through the API; exposure derives from the network when not given", async () => {
    const account = await addAccount(h, 'azure', 'Replace me');
    const res = await h.request(admin, {
      method: 'PUT',
      url: `/api/v1/cloud-accounts/${account.id}/assets`,
      payload: { assets: [vm('vm-a', { exposed: true }), vm('vm-b'), { ...vm('vm-c', { exposed: true }), exposure: 'no-internet' }] },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ accountId: account.id, assets: 3, added: 3, updated: 0, removed: 0 });
    const listed = (await get(`/api/v1/assets?accountId=${account.id}`)).json().items;
    expect(Object.fromEntries(listed.map((a: { resourceId: string; exposure: string }) => [a.resourceId, a.exposure]))).toEqual({
      'vm-a': 'internet-exposed',
      'vm-b': 'no-internet',
      'vm-c': 'no-internet',
    });
    expect(listed.every((a: { vendor: string; accountId: string }) => a.vendor === 'azure' && a.accountId === account.id)).toBe(true);
  });

  it('keeps ids, creation times and CVEs of assets sent again; drops the others with their CVEs', async () => {
    const account = await addAccount(h, 'aws', 'Resync');
    await putAssets(h, account.id, [vm('keep'), vm('drop')]);
    const keepId = assetIdFor(account.id, 'keep');
    const dropId = assetIdFor(account.id, 'drop');
    await h.request(admin, { method: 'POST', url: `/api/v1/assets/${keepId}/cves`, payload: { cves: [{ id: 'CVE-2021-44228', severity: 'critical', cvss: 10 }] } });
    await h.request(admin, { method: 'POST', url: `/api/v1/assets/${dropId}/cves`, payload: { cves: [{ id: 'CVE-2014-0160', severity: 'high', cvss: 7.5 }] } });
    const before = (await get(`/api/v1/assets/${keepId}`)).json();
    h.clock.advance(60_000);
    const res = await h.request(admin, {
      method: 'PUT',
      url: `/api/v1/cloud-accounts/${account.id}/assets`,
      payload: { assets: [vm('keep', { name: 'kept' }), vm('new')] },
    });
    expect(res.json()).toMatchObject({ assets: 2, added: 1, updated: 1, removed: 1 });
    const after = (await get(`/api/v1/assets/${keepId}`)).json();
    expect(after).toMatchObject({ id: keepId, name: 'kept', createdAt: before.createdAt });
    expect(after.updatedAt).not.toBe(before.updatedAt);
    expect(after.cves.map((c: { id: string }) => c.id)).toEqual(['CVE-2021-44228']);
    expect((await get(`/api/v1/assets/${dropId}`)).statusCode).toBe(404);
    expect(await h.ctx.storage.db.selectFrom('asset_cves').select('cve_id').where('asset_id', '=', dropId).execute()).toEqual([]);
  });

  it('refuses a bad inventory as a whole, naming the field, and changes nothing', async () => {
    const account = await addAccount(h, 'aws', 'Strict');
    await putAssets(h, account.id, [vm('stays')]);
    const put = (assets: unknown[]) => h.request(admin, { method: 'PUT', url: `/api/v1/cloud-accounts/${account.id}/assets`, payload: { assets } });
    const dup = await put([vm('x'), vm('x')]);
    expect(dup.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'body', pointer: '/assets/1/resourceId' }] });
    const badIp = await put([{ ...vm('y'), network: { publicIps: ['999.1.1.1'] } }]);
    expect(badIp.json().errors[0]).toMatchObject({ in: 'body', pointer: '/assets/0/network/publicIps/0' });
    const badCidr = await put([
      {
        ...vm('y'),
        network: { securityGroups: [{ id: 'sg', name: 'sg', rules: [{ direction: 'inbound', action: 'allow', protocol: 'tcp', ports: '22', cidr: '10.0.0.0/33' }] }] },
      },
    ]);
    expect(badCidr.json().errors[0]).toMatchObject({ in: 'body', pointer: '/assets/0/network/securityGroups/0/rules/0/cidr' });
    const badPorts = await put([
      {
        ...vm('y'),
        network: { securityGroups: [{ id: 'sg', name: 'sg', rules: [{ direction: 'inbound', action: 'allow', protocol: 'tcp', ports: '90-80', cidr: '0.0.0.0/0' }] }] },
      },
    ]);
    expect(badPorts.json().errors[0]).toMatchObject({ in: 'body', pointer: '/assets/0/network/securityGroups/0/rules/0/ports' });
    const badType = await put([{ ...vm('y'), type: 'mainframe' }]);
    expect(badType.statusCode).toBe(400);
    const unknownField = await put([{ ...vm('y'), owner: 'me' }]);
    expect(unknownField.json().errors[0]).toMatchObject({ in: 'body', pointer: '/assets/0/owner' });
    expect(ids(await get(`/api/v1/assets?accountId=${account.id}`))).toEqual([assetIdFor(account.id, 'stays')]);
    const missing = await h.request(admin, { method: 'PUT', url: '/api/v1/cloud-accounts/nope/assets', payload: { assets: [] } });
    expect(missing.json().code).toBe('not_found');
  });

  it('accepts an inventory larger than the 1 MiB default body limit, up to 16 MiB', async () => {
    const account = await addAccount(h, 'aws', 'Big');
    const assets = Array.from({ length: 3000 }, (_, i) => vm(`i-big-${i}`, { tags: { owner: 'x'.repeat(200), env: 'prod' } }));
    const payload = JSON.stringify({ assets });
    expect(payload.length).toBeGreaterThan(1024 * 1024);
    const res = await h.request(admin, { method: 'PUT', url: `/api/v1/cloud-accounts/${account.id}/assets`, payload, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.json().assets).toBe(3000);
    const list = await get(`/api/v1/assets?accountId=${account.id}&limit=1`);
    expect(list.json().items).toHaveLength(1);
    const tooBig = await h.request(admin, {
      method: 'PUT',
      url: `/api/v1/cloud-accounts/${account.id}/assets`,
      payload: '{"assets":[' + ' '.repeat(17 * 1024 * 1024) + ']}',
      headers: { 'content-type': 'application/json' },
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().code).toBe('payload_too_large');
    await putAssets(h, account.id, []);
  });

  it('lists by name with cursor pagination, and filters in SQL (account, vendor, type, exposure, name, cve)', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/api/v1/assets?limit=2&vendor=aws&accountId=${aws.id}${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().items.map((a: { name: string }) => a.name));
      cursor = res.json().nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(['alpha', 'bravo', 'charlie-db']);
    expect(ids(await get(`/api/v1/assets?accountId=${gcp.id}`))).toEqual([assetIdFor(gcp.id, 'gce-1'), assetIdFor(gcp.id, 'gce-2')]);
    expect(ids(await get(`/api/v1/assets?type=database&accountId=${aws.id}`))).toEqual([assetIdFor(aws.id, 'db-1')]);
    expect(ids(await get(`/api/v1/assets?exposure=internet-exposed&vendor=gcp&accountId=${gcp.id}`))).toEqual([assetIdFor(gcp.id, 'gce-1')]);
    expect(ids(await get(`/api/v1/assets?name=HARL&accountId=${aws.id}`))).toEqual([assetIdFor(aws.id, 'db-1')]);
    expect(ids(await get('/api/v1/assets?name=%25'))).toEqual([]);
    await h.request(admin, {
      method: 'POST',
      url: `/api/v1/assets/${assetIdFor(aws.id, 'i-2')}/cves`,
      payload: { cves: [{ id: 'CVE-2023-4863', severity: 'high', cvss: 8.8 }] },
    });
    expect(ids(await get('/api/v1/assets?cve=cve-2023-4863'))).toEqual([assetIdFor(aws.id, 'i-2')]);
    const item = (await get(`/api/v1/assets?cve=CVE-2023-4863`)).json().items[0];
    expect(item.cveCount).toBe(1);
    expect(Object.keys(item).sort()).toEqual([
      'accountId',
      'createdAt',
      'cveCount',
      'exposure',
      'id',
      'name',
      'region',
      'resourceId',
      'tags',
      'type',
      'updatedAt',
      'vendor',
    ]);
    for (const bad of ['type=mainframe', 'exposure=maybe', 'vendor=ibm', 'limit=0', 'limit=201', 'cursor=bad', 'unknown=1']) {
      const res = await get(`/api/v1/assets?${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
  });

  it('shows one asset with properties, tags, controls, exposure and CVEs, and its network', async () => {
    const id = assetIdFor(aws.id, 'i-1');
    const res = await get(`/api/v1/assets/${id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id,
      accountId: aws.id,
      vendor: 'aws',
      resourceId: 'i-1',
      name: 'alpha',
      exposure: 'internet-exposed',
      tags: { env: 'test' },
      properties: { size: 'small' },
      securityControls: [{ name: 'disk-encryption', status: 'enabled', detail: null }],
      cves: [],
    });
    const network = await get(`/api/v1/assets/${id}/network`);
    expect(network.statusCode).toBe(200);
    expect(network.json()).toEqual({
      assetId: id,
      accountId: aws.id,
      networkId: 'vpc-1',
      subnetId: 'subnet-1',
      privateIps: ['10.0.0.5'],
      publicIps: ['203.0.113.5'],
      securityGroups: [{ id: 'sg-1', name: 'web', rules: [{ direction: 'inbound', action: 'allow', protocol: 'tcp', ports: '443', cidr: '0.0.0.0/0' }] }],
    });
    expect((await get('/api/v1/assets/ast-nope')).json().code).toBe('not_found');
    expect((await get('/api/v1/assets/ast-nope/network')).json().code).toBe('not_found');
  });

  it('adds CVEs with validated ids and severities; re-adding updates; removes one', async () => {
    const id = assetIdFor(gcp.id, 'gce-2');
    const url = `/api/v1/assets/${id}/cves`;
    const added = await h.request(admin, {
      method: 'POST',
      url,
      payload: {
        cves: [
          { id: 'cve-2024-3094', severity: 'critical', cvss: 10, description: 'xz backdoor' },
          { id: 'CVE-2019-0708', severity: 'critical' },
        ],
      },
    });
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json().cves.map((c: { id: string; cvss: number | null }) => [c.id, c.cvss])).toEqual([
      ['CVE-2024-3094', 10],
      ['CVE-2019-0708', null],
    ]);
    const firstAdded = added.json().cves[0].addedAt;
    h.clock.advance(1000);
    const updated = await h.request(admin, { method: 'POST', url, payload: { cves: [{ id: 'CVE-2024-3094', severity: 'high', cvss: 7.1 }] } });
    expect(updated.json().cves.find((c: { id: string }) => c.id === 'CVE-2024-3094')).toMatchObject({ severity: 'high', cvss: 7.1, addedAt: firstAdded });
    for (const [cve, pointer] of [
      [{ id: 'CVE-21-1234', severity: 'low' }, '/cves/0/id'],
      [{ id: 'CVE-1998-1234', severity: 'low' }, '/cves/0/id'],
      [{ id: 'CVE-2021-123', severity: 'low' }, '/cves/0/id'],
      [{ id: 'CVE-2021-44228', severity: 'low', cvss: 9.8 }, '/cves/0/cvss'],
      [{ id: 'CVE-2021-44228', severity: 'critical', cvss: 9.85 }, '/cves/0/cvss'],
      [{ id: 'CVE-2021-44228', severity: 'severe' }, '/cves/0/severity'],
      [{ id: 'CVE-2021-44228', severity: 'critical', cvss: 11 }, '/cves/0/cvss'],
    ] as const) {
      const res = await h.request(admin, { method: 'POST', url, payload: { cves: [cve] } });
      expect(res.statusCode, JSON.stringify(cve)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors[0], JSON.stringify(cve)).toMatchObject({ in: 'body', pointer });
    }
    const dup = await h.request(admin, {
      method: 'POST',
      url,
      payload: {
        cves: [
          { id: 'CVE-2020-1472', severity: 'critical' },
          { id: 'cve-2020-1472', severity: 'critical' },
        ],
      },
    });
    expect(dup.json().errors[0]).toMatchObject({ in: 'body', pointer: '/cves/1/id' });
    expect((await h.request(admin, { method: 'DELETE', url: `${url}/CVE-2019-0708` })).statusCode).toBe(204);
    expect((await h.request(admin, { method: 'DELETE', url: `${url}/CVE-2019-0708` })).json().code).toBe('not_found');
    expect((await get(`/api/v1/assets/${id}`)).json().cves.map((c: { id: string }) => c.id)).toEqual(['CVE-2024-3094']);
    const viewer = await h.key([{ role: 'global-viewer' }]);
    expect((await h.request(viewer.token, { method: 'POST', url, payload: { cves: [{ id: 'CVE-2020-1472', severity: 'critical' }] } })).json().code).toBe(
      'insufficient_scope',
    );
  });

  it('a Cloud Account Viewer sees the assets of its accounts only: absent from lists, 404 on get', async () => {
    const one = await h.key([{ role: 'cloud-account-viewer', accounts: [gcp.id] }]);
    const listed = ids(await get('/api/v1/assets?limit=200', one.token));
    expect(listed).toEqual([assetIdFor(gcp.id, 'gce-1'), assetIdFor(gcp.id, 'gce-2')]);
    expect(ids(await get(`/api/v1/assets?accountId=${aws.id}`, one.token))).toEqual([]);
    expect(ids(await get('/api/v1/assets?cve=CVE-2023-4863', one.token))).toEqual([]);
    expect((await get(`/api/v1/assets/${assetIdFor(aws.id, 'i-1')}`, one.token)).json().code).toBe('not_found');
    expect((await get(`/api/v1/assets/${assetIdFor(aws.id, 'i-1')}/network`, one.token)).json().code).toBe('not_found');
    expect((await get(`/api/v1/assets/${assetIdFor(gcp.id, 'gce-1')}/network`, one.token)).statusCode).toBe(200);
  });
});
