import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, TEST_PUBLIC_URL, type Harness } from './helpers/harness.ts';
import { addUser, auditRows, PASSWORD } from './helpers/people.ts';

const MOVED_URL = 'https://moved.tessera.test';
const issuerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).iss as string;

/**
 * Two instances on one database (each its own connections and change listener): B starts with
 * a new TESSERA_PUBLIC_URL while A runs. A takes the new issuer up without a restart, and no
 * token breaks: every issuer ever stored stays accepted.
 */
describe.each(DIALECTS)('a changed token issuer reaches every instance (%s)', (dialect) => {
  let a: Harness;
  let b: Harness;
  let before: { id: string; token: string };

  beforeAll(async () => {
    a = await createHarness(dialect);
    before = await a.key([{ role: 'global-admin' }], { name: 'issued-before-the-move' });
    const shared = { TESSERA_DATA_DIR: a.env['TESSERA_DATA_DIR'] as string, ...(dialect === 'postgres' ? { DATABASE_URL: a.env['DATABASE_URL'] as string } : {}) };
    // On PostgreSQL, B's start-up waits until A has applied the change (it is acknowledged).
    b = await createHarness(dialect, { env: { ...shared, TESSERA_PUBLIC_URL: MOVED_URL }, clock: a.clock });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const readKey = (h: Harness, token: string, id: string) => h.request(token, { method: 'GET', url: `/api/v1/access-keys/${id}` });

  it('a token B issues under the new issuer is accepted by A from the first request on', async () => {
    const onB = await b.key([{ role: 'global-admin' }], { name: 'issued-by-b' });
    expect(issuerOf(onB.token)).toBe(MOVED_URL);
    expect((await readKey(a, onB.token, onB.id)).statusCode).toBe(200);
  });

  it('A issues under the new issuer too, keys and user tokens alike, and B accepts them', async () => {
    // A has read the new issuer by now: the request above waited for that read.
    const created = await a.request(before.token, { method: 'POST', url: '/api/v1/access-keys', payload: { name: 'issued-by-a', roles: [{ role: 'global-admin' }] } });
    expect(created.statusCode).toBe(201);
    const key = created.json<{ id: string; token: string }>();
    expect(issuerOf(key.token)).toBe(MOVED_URL);
    expect((await readKey(b, key.token, key.id)).statusCode).toBe(200);

    const user = await addUser(a, [{ role: 'global-viewer' }]);
    const signedIn = await a.request(undefined, { method: 'POST', url: '/api/v1/token', payload: { grant_type: 'password', username: user.email, password: PASSWORD } });
    expect(signedIn.statusCode).toBe(200);
    const userToken = signedIn.json<{ access_token: string }>().access_token;
    expect(issuerOf(userToken)).toBe(MOVED_URL);
    expect((await b.request(userToken, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(200);
    expect(a.ctx.issuer).toEqual({ current: MOVED_URL, accepted: [MOVED_URL, TEST_PUBLIC_URL] });
  });

  it('tokens issued under the old issuer keep working on both instances', async () => {
    expect(issuerOf(before.token)).toBe(TEST_PUBLIC_URL);
    for (const h of [a, b]) expect((await readKey(h, before.token, before.id)).statusCode).toBe(200);
  });

  it('the change is audited once, by the instance that made it', async () => {
    const edits = (await auditRows(a, { category: 'settings' })).filter((e) => e.resource === 'token-issuer');
    expect(edits).toHaveLength(1);
    expect(edits[0]).toMatchObject({ actor: 'system', action: 'edit', detail: { before: TEST_PUBLIC_URL, after: MOVED_URL } });
  });
});
