import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addUser, PASSWORD } from './helpers/people.ts';

const DAY = 24 * 60 * 60 * 1000;

describe.each(DIALECTS)('token introspection (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  const url = '/api/v1/token/introspect';
  const introspect = (token: string, caller = admin) =>
    h.request(caller, { method: 'POST', url, payload: `token=${encodeURIComponent(token)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root', expiration: '1y' })).token;
  });
  afterAll(() => h.close());

  it('describes an active key: sub, name, current roles, exp and iat, and nothing else', async () => {
    const key = await h.key([{ role: 'global-viewer' }], { name: 'inspected', expiration: '30d' });
    const res = await introspect(key.token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const record = await h.ctx.accessKeys.get(key.id);
    expect(res.json()).toEqual({
      active: true,
      sub: key.id,
      name: 'inspected',
      roles: [{ role: 'global-viewer' }],
      exp: Date.parse(record.expiresAt) / 1000,
      iat: Date.parse(record.createdAt) / 1000,
    });
    await h.request(admin, { method: 'PATCH', url: `/api/v1/access-keys/${key.id}`, payload: { roles: [{ role: 'global-admin' }] } });
    expect((await introspect(key.token)).json().roles).toEqual([{ role: 'global-admin' }]);
    // Asking about a key is not using it.
    await h.ctx.usage.flush();
    expect((await h.ctx.accessKeys.get(key.id)).useCount).toBe(0);
  });

  it('answers only { active: false } for removed, expired, forged, malformed or non-key tokens', async () => {
    const removed = await h.key([{ role: 'global-viewer' }]);
    await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${removed.id}` });
    const expiring = await h.key([{ role: 'global-viewer' }], { expiration: '7d' });
    const [header, payload, signature] = expiring.token.split('.') as [string, string, string];
    const forged = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
    const user = await addUser(h, [{ role: 'global-admin' }]);
    const userToken = (await h.app.inject({ method: 'POST', url: '/api/v1/token', payload: { grant_type: 'password', username: user.email, password: PASSWORD } })).json()
      .access_token as string;
    expect(typeof userToken).toBe('string');
    for (const token of [removed.token, forged, 'not-a-token', '', 'a.b.c', 'x'.repeat(5000), userToken]) {
      const res = await introspect(token);
      expect(res.statusCode, token.slice(0, 20)).toBe(200);
      expect(res.json()).toEqual({ active: false });
    }
    h.clock.advance(8 * DAY);
    expect((await introspect(expiring.token)).json()).toEqual({ active: false });
  });

  it('is for Global Admins only, and refuses bodies that are not a token form', async () => {
    const viewer = await h.key([{ role: 'global-viewer' }]);
    const res = await introspect(viewer.token, viewer.token);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
    const anonymous = await h.app.inject({ method: 'POST', url, payload: `token=${admin}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().code).toBe('invalid_token');
    const missing = await h.request(admin, { method: 'POST', url, payload: 'nothing=here', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().code).toBe('validation_failed');
    const json = await h.request(admin, { method: 'POST', url, payload: { token: admin } });
    expect(json.json().active).toBe(true);
    const text = await h.request(admin, { method: 'POST', url, payload: admin, headers: { 'content-type': 'text/plain' } });
    expect(text.statusCode).toBe(415);
  });
});
