import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount, putAssets, vm } from './helpers/inventory.ts';
import { addUser } from './helpers/people.ts';

describe.each(DIALECTS)('cloud accounts API (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  const url = '/api/v1/cloud-accounts';

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
  });
  afterAll(() => h.close());

  const post = (payload: object, token = admin) => h.request(token, { method: 'POST', url, payload });

  it('creates an account per vendor, validating the external id for that vendor', async () => {
    const aws = await post({ vendor: 'aws', displayName: '  AWS Prod ', externalId: '123456789012' });
    expect(aws.statusCode, aws.body).toBe(201);
    expect(aws.json()).toMatchObject({
      vendor: 'aws',
      displayName: 'AWS Prod',
      externalId: '123456789012',
      status: 'error',
      statusDetail: 'No credential is attached.',
      credentialId: null,
    });
    expect(Object.keys(aws.json()).sort()).toEqual(['createdAt', 'credentialId', 'displayName', 'externalId', 'id', 'status', 'statusDetail', 'vendor']);
    const azure = await post({ vendor: 'azure', displayName: 'Azure', externalId: '0B1F6471-1BF0-4DDA-AEC3-CB9272F09590', status: 'connected' });
    expect(azure.statusCode).toBe(201);
    expect(azure.json().externalId).toBe('0b1f6471-1bf0-4dda-aec3-cb9272f09590');
    expect((await post({ vendor: 'gcp', displayName: 'GCP', externalId: 'my-project-123' })).statusCode).toBe(201);

    for (const [vendor, externalId] of [
      ['aws', '12345678901'],
      ['aws', 'abcdefghijkl'],
      ['azure', 'not-a-guid'],
      ['gcp', 'My_Project'],
      ['gcp', 'abc'],
      ['gcp', 'project-ends-with-'],
    ] as const) {
      const res = await post({ vendor, displayName: 'x', externalId });
      expect(res.statusCode, `${vendor} ${externalId}`).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'body', pointer: '/externalId' }] });
    }
    const unknownVendor = await post({ vendor: 'oracle', displayName: 'x', externalId: '1' });
    expect(unknownVendor.statusCode).toBe(400);
    expect(unknownVendor.json().code).toBe('validation_failed');
  });

  it('refuses a second account with the same vendor and external id (409)', async () => {
    expect((await post({ vendor: 'aws', displayName: 'One', externalId: '222222222222' })).statusCode).toBe(201);
    const dup = await post({ vendor: 'aws', displayName: 'Two', externalId: '222222222222' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('conflict');
  });

  it('takes a credential of the same vendor only', async () => {
    const cred = await h.ctx.credentials.create(CLI_ACTOR, {
      vendor: 'aws',
      displayName: 'c',
      secret: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    });
    const ok = await post({ vendor: 'aws', displayName: 'With cred', externalId: '333333333333', credentialId: cred.id });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ credentialId: cred.id, status: 'connected', statusDetail: null });
    const wrongVendor = await post({ vendor: 'gcp', displayName: 'x', externalId: 'other-project-1', credentialId: cred.id });
    expect(wrongVendor.statusCode).toBe(400);
    expect(wrongVendor.json().errors[0]).toMatchObject({ in: 'body', pointer: '/credentialId' });
    const unknown = await post({ vendor: 'aws', displayName: 'x', externalId: '444444444444', credentialId: 'nope' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0]).toMatchObject({ in: 'body', pointer: '/credentialId' });
  });

  it('edits; the vendor cannot change; a new status clears the old detail', async () => {
    const account = await addAccount(h, 'aws', 'Editable');
    const warn = await h.request(admin, { method: 'PATCH', url: `${url}/${account.id}`, payload: { status: 'connected-with-warnings', statusDetail: 'CloudTrail off' } });
    expect(warn.statusCode).toBe(200);
    expect(warn.json()).toMatchObject({ status: 'connected-with-warnings', statusDetail: 'CloudTrail off' });
    const ok = await h.request(admin, { method: 'PATCH', url: `${url}/${account.id}`, payload: { status: 'connected', displayName: 'Renamed' } });
    expect(ok.json()).toMatchObject({ status: 'connected', statusDetail: null, displayName: 'Renamed', vendor: 'aws' });
    const vendor = await h.request(admin, { method: 'PATCH', url: `${url}/${account.id}`, payload: { vendor: 'gcp' } });
    expect(vendor.statusCode).toBe(400);
    expect(vendor.json().errors[0]).toMatchObject({ in: 'body', pointer: '/vendor' });
    const empty = await h.request(admin, { method: 'PATCH', url: `${url}/${account.id}`, payload: {} });
    expect(empty.statusCode).toBe(400);
    const badId = await h.request(admin, { method: 'PATCH', url: `${url}/${account.id}`, payload: { externalId: '12' } });
    expect(badId.json().errors[0]).toMatchObject({ in: 'body', pointer: '/externalId' });
    expect((await h.request(admin, { method: 'PATCH', url: `${url}/missing`, payload: { displayName: 'x' } })).statusCode).toBe(404);
  });

  it('lists in name order with cursor pagination over every account exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.request(admin, { method: 'GET', url: `${url}?limit=2${cursor === null ? '' : `&cursor=${cursor}`}` });
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().items.map((a: { displayName: string }) => a.displayName));
      cursor = res.json().nextCursor;
    } while (cursor !== null);
    const all = (await h.request(admin, { method: 'GET', url: `${url}?limit=200` })).json().items.map((a: { displayName: string }) => a.displayName);
    expect(seen).toEqual(all);
    expect([...all]).toEqual([...all].sort());
    const byVendor = (await h.request(admin, { method: 'GET', url: `${url}?vendor=gcp` })).json().items;
    expect(byVendor.length).toBeGreaterThan(0);
    expect(byVendor.every((a: { vendor: string }) => a.vendor === 'gcp')).toBe(true);
    const bad = await h.request(admin, { method: 'GET', url: `${url}?cursor=xyz` });
    expect(bad.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'query', pointer: '/cursor' }] });
  });

  it('a Cloud Account Viewer sees its accounts only; "all" includes accounts added later', async () => {
    const mine = await addAccount(h, 'azure', 'Mine');
    const other = await addAccount(h, 'gcp', 'Other');
    const one = await h.key([{ role: 'cloud-account-viewer', accounts: [mine.id] }]);
    const all = await h.key([{ role: 'cloud-account-viewer', accounts: 'all' }]);
    const listed = (await h.request(one.token, { method: 'GET', url: `${url}?limit=200` })).json();
    expect(listed.items.map((a: { id: string }) => a.id)).toEqual([mine.id]);
    expect((await h.request(one.token, { method: 'GET', url: `${url}/${other.id}` })).json().code).toBe('not_found');
    expect((await h.request(one.token, { method: 'GET', url: `${url}/${mine.id}` })).statusCode).toBe(200);
    const later = await addAccount(h, 'aws', 'Added later');
    const seen = (await h.request(all.token, { method: 'GET', url: `${url}?limit=200` })).json().items.map((a: { id: string }) => a.id);
    expect(seen).toContain(later.id);
    expect((await h.request(all.token, { method: 'GET', url: `${url}/${later.id}` })).statusCode).toBe(200);
  });

  it("delete removes the account, its assets and CVEs, and every key's and user's grant of it: the next request sees it", async () => {
    const doomed = await addAccount(h, 'aws', 'Doomed');
    const kept = await addAccount(h, 'aws', 'Kept');
    await putAssets(h, doomed.id, [vm('i-doomed-1'), vm('i-doomed-2')]);
    const assetId = (await h.ctx.assets.list({ all: true }, { accountId: doomed.id })).items[0]!.id;
    await h.ctx.assets.addCves(CLI_ACTOR, { all: true }, assetId, [{ id: 'CVE-2021-44228', severity: 'critical' }]);
    const both = await h.key([{ role: 'cloud-account-viewer', accounts: [doomed.id, kept.id] }]);
    const onlyDoomed = await h.key([{ role: 'cloud-account-viewer', accounts: [doomed.id] }, { role: 'global-viewer' }]);
    const allKey = await h.key([{ role: 'cloud-account-viewer', accounts: 'all' }]);
    const user = await addUser(h, [{ role: 'cloud-account-viewer', accounts: [doomed.id, kept.id] }]);
    // Warm the caches: the key states now hold the grant.
    expect((await h.request(both.token, { method: 'GET', url: `${url}/${doomed.id}` })).statusCode).toBe(200);

    const removed = await h.request(admin, { method: 'DELETE', url: `${url}/${doomed.id}` });
    expect(removed.statusCode).toBe(204);

    expect((await h.request(both.token, { method: 'GET', url: `${url}/${doomed.id}` })).statusCode).toBe(404);
    expect((await h.request(both.token, { method: 'GET', url: `${url}?limit=200` })).json().items.map((a: { id: string }) => a.id)).toEqual([kept.id]);
    expect((await h.ctx.accessKeys.get(both.id)).roles).toEqual([{ role: 'cloud-account-viewer', accounts: [kept.id] }]);
    expect((await h.ctx.accessKeys.get(onlyDoomed.id)).roles).toEqual([{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: [] }]);
    expect((await h.ctx.accessKeys.get(allKey.id)).roles).toEqual([{ role: 'cloud-account-viewer', accounts: 'all' }]);
    expect((await h.ctx.users.get(user.id)).roles).toEqual([{ role: 'cloud-account-viewer', accounts: [kept.id] }]);
    // No grant row names the removed account any more.
    for (const table of ['access_key_grants', 'user_grants'] as const) {
      expect(await h.ctx.storage.db.selectFrom(table).select('account_id').where('account_id', '=', doomed.id).execute()).toEqual([]);
    }

    expect(await h.ctx.storage.db.selectFrom('assets').select('id').where('account_id', '=', doomed.id).execute()).toEqual([]);
    expect(await h.ctx.storage.db.selectFrom('asset_cves').select('cve_id').where('asset_id', '=', assetId).execute()).toEqual([]);
    const audit = await h.ctx.storage.db
      .selectFrom('audit_events')
      .selectAll()
      .where('resource_id', '=', doomed.id)
      .where('action', '=', 'delete')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(audit.detail)).toMatchObject({ assetsRemoved: 2, grantsUpdated: { keys: 2, users: 1 } });
    expect((await h.request(admin, { method: 'DELETE', url: `${url}/${doomed.id}` })).statusCode).toBe(404);
  });

  it('writes are Global Admin only: a Global Viewer gets 403 insufficient_scope', async () => {
    const viewer = await h.key([{ role: 'global-viewer' }]);
    const res = await post({ vendor: 'aws', displayName: 'x', externalId: '555555555555' }, viewer.token);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
    expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
  });
});
