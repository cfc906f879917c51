import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const AWS_SECRET = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const AZURE_SECRET = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  applicationId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590',
  applicationSecret: 'azure~application~secret~value',
};
const GCP_KEY = JSON.stringify({
  type: 'service_account',
  project_id: 'my-project-123',
  client_email: 'scanner@my-project-123.iam.gserviceaccount.com',
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n',
});

describe.each(DIALECTS)('credentials API (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  const url = '/api/v1/credentials';
  const post = (payload: object, token = admin) => h.request(token, { method: 'POST', url, payload });

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
  });
  afterAll(() => h.close());

  it("stores each vendor's secret sealed, and never returns a secret value", async () => {
    for (const [vendor, secret] of [
      ['aws', AWS_SECRET],
      ['azure', AZURE_SECRET],
      ['gcp', { serviceAccountKey: GCP_KEY }],
    ] as const) {
      const res = await post({ vendor, displayName: `${vendor} connector`, secret });
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual(['createdAt', 'displayName', 'id', 'secret', 'updatedAt', 'vendor']);
      expect(Object.values(body.secret).every((v) => v === true)).toBe(true);
      expect(Object.keys(body.secret).sort()).toEqual(Object.keys(secret).sort());
      for (const value of Object.values(secret)) {
        expect(res.body).not.toContain(value.slice(0, 20));
        const listed = await h.request(admin, { method: 'GET', url: `${url}?limit=200` });
        expect(listed.body).not.toContain(value.slice(0, 20));
        expect((await h.request(admin, { method: 'GET', url: `${url}/${body.id}` })).body).not.toContain(value.slice(0, 20));
      }
      const row = await h.ctx.storage.db.selectFrom('credentials').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow();
      for (const value of Object.values(secret)) expect(row.secret_sealed).not.toContain(value.slice(0, 12));
      expect(await h.ctx.credentials.openSecret(body.id)).toEqual(vendor === 'azure' ? AZURE_SECRET : secret);
      const audit = await h.ctx.storage.db.selectFrom('audit_events').select('detail').where('resource_id', '=', body.id).execute();
      for (const value of Object.values(secret)) expect(JSON.stringify(audit)).not.toContain(value.slice(0, 12));
    }
  });

  it('validates the fields per vendor, naming the field and never echoing the value', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['aws', { accessKeyId: 'AKIAIOSFODNN7EXAMPLE' }, '/secret/secretAccessKey'],
      ['aws', { ...AWS_SECRET, accessKeyId: 'XYZ123' }, '/secret/accessKeyId'],
      ['aws', { ...AWS_SECRET, secretAccessKey: 'too-short-secret' }, '/secret/secretAccessKey'],
      ['aws', { ...AWS_SECRET, tenantId: AZURE_SECRET.tenantId }, '/secret/tenantId'],
      ['azure', { ...AZURE_SECRET, tenantId: 'not-a-guid' }, '/secret/tenantId'],
      ['gcp', { serviceAccountKey: '{not json' }, '/secret/serviceAccountKey'],
      ['gcp', { serviceAccountKey: JSON.stringify({ type: 'user' }) }, '/secret/serviceAccountKey'],
      ['gcp', { serviceAccountKey: JSON.stringify({ type: 'service_account', project_id: 'p', client_email: 'e' }) }, '/secret/serviceAccountKey'],
    ];
    for (const [vendor, secret, pointer] of cases) {
      const res = await post({ vendor, displayName: 'bad', secret });
      expect(res.statusCode, `${vendor} ${pointer}`).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer });
      if (secret['secretAccessKey'] === 'too-short-secret') expect(res.body).not.toContain('too-short-secret');
    }
    const unknown = await post({ vendor: 'aws', displayName: 'bad', secret: { ...AWS_SECRET, password: 'x' } });
    expect(unknown.json().errors[0]).toMatchObject({ in: 'body', pointer: '/secret/password' });
  });

  it('edits: a partial secret replaces only the fields it names; the vendor cannot change', async () => {
    const created = (await post({ vendor: 'aws', displayName: 'rotating', secret: AWS_SECRET })).json();
    const rotated = await h.request(admin, {
      method: 'PATCH',
      url: `${url}/${created.id}`,
      payload: { secret: { secretAccessKey: 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY' } },
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json().secret).toEqual({ accessKeyId: true, secretAccessKey: true });
    expect(await h.ctx.credentials.openSecret(created.id)).toEqual({ accessKeyId: AWS_SECRET.accessKeyId, secretAccessKey: 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY' });
    const renamed = await h.request(admin, { method: 'PATCH', url: `${url}/${created.id}`, payload: { displayName: 'renamed' } });
    expect(renamed.json().displayName).toBe('renamed');
    const vendor = await h.request(admin, { method: 'PATCH', url: `${url}/${created.id}`, payload: { vendor: 'gcp' } });
    expect(vendor.statusCode).toBe(400);
    const foreign = await h.request(admin, { method: 'PATCH', url: `${url}/${created.id}`, payload: { secret: { applicationSecret: 'x' } } });
    expect(foreign.json().errors[0]).toMatchObject({ in: 'body', pointer: '/secret/applicationSecret' });
  });

  it('refuses to delete a credential an account uses (409), deletes it once detached (204)', async () => {
    const cred = (await post({ vendor: 'gcp', displayName: 'in use', secret: { serviceAccountKey: GCP_KEY } })).json();
    const account = await h.request(admin, {
      method: 'POST',
      url: '/api/v1/cloud-accounts',
      payload: { vendor: 'gcp', displayName: 'user of cred', externalId: 'cred-user-1', credentialId: cred.id },
    });
    expect(account.statusCode).toBe(201);
    const refused = await h.request(admin, { method: 'DELETE', url: `${url}/${cred.id}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('conflict');
    expect(refused.json().detail).toContain('user of cred');
    await h.request(admin, { method: 'PATCH', url: `/api/v1/cloud-accounts/${account.json().id}`, payload: { credentialId: null } });
    expect((await h.request(admin, { method: 'DELETE', url: `${url}/${cred.id}` })).statusCode).toBe(204);
    expect((await h.request(admin, { method: 'GET', url: `${url}/${cred.id}` })).statusCode).toBe(404);
  });

  it('Global Viewers read, Cloud Account Viewers may not; only admins write', async () => {
    const viewer = await h.key([{ role: 'global-viewer' }]);
    const cav = await h.key([{ role: 'cloud-account-viewer', accounts: 'all' }]);
    expect((await h.request(viewer.token, { method: 'GET', url })).statusCode).toBe(200);
    expect((await h.request(cav.token, { method: 'GET', url })).json().code).toBe('insufficient_scope');
    expect((await post({ vendor: 'aws', displayName: 'x', secret: AWS_SECRET }, viewer.token)).statusCode).toBe(403);
    const list = (await h.request(viewer.token, { method: 'GET', url: `${url}?vendor=azure` })).json();
    expect(list.items.length).toBeGreaterThan(0);
    expect(list.items.every((c: { vendor: string }) => c.vendor === 'azure')).toBe(true);
  });
});
