import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeGrants, type Grant } from '../src/auth/permissions.ts';
import { TOKEN_TYPES } from '../src/auth/tokens.ts';
import { findSessionWithUser } from '../src/sessions/session.repository.ts';
import { findUserById } from '../src/users/user.public.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount } from './helpers/inventory.ts';
import { addUser, asSession, auditRows, PASSWORD, signIn } from './helpers/people.ts';

describe.each(DIALECTS)('user tokens: POST /api/v1/token (%s)', (dialect) => {
  let h: Harness;
  let admin: { id: string; email: string };
  let adminKey: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = await addUser(h, [{ role: 'global-admin' }]);
    adminKey = (await h.key([{ role: 'global-admin' }], { name: 'admin-key' })).token;
  });
  afterAll(() => h.close());

  const form = (fields: Record<string, string>, remoteAddress = '127.0.0.1') =>
    h.app.inject({
      method: 'POST',
      url: '/api/v1/token',
      payload: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      remoteAddress,
    });

  it('answers the OAuth 2.0 password grant, form-encoded or JSON, with a one-hour Bearer token of its own typ', async () => {
    const res = await form({ grant_type: 'password', username: admin.email, password: PASSWORD, scope: '', client_id: 'swagger' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(decodeProtectedHeader(body.access_token).typ).toBe(TOKEN_TYPES.user);
    const json = await h.app.inject({ method: 'POST', url: '/api/v1/token', payload: { grant_type: 'password', username: admin.email, password: PASSWORD } });
    expect(json.statusCode).toBe(200);
    const [event] = (await auditRows(h, { category: 'session', action: 'sign-in', actor: admin.email })).slice(-1);
    expect(event!.detail).toMatchObject({ via: 'token' });
    expect(JSON.stringify(event)).not.toContain(json.json().access_token);
  });

  it("records the sign-in on the user, as the console's sign-in does; a refused password records nothing", async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const lastSignIn = async () => (await h.request(adminKey, { method: 'GET', url: `/api/v1/users/${user.id}` })).json().lastSignInAt;
    expect(await lastSignIn()).toBeNull();
    expect((await form({ grant_type: 'password', username: user.email, password: 'not the password' })).statusCode).toBe(400);
    expect(await lastSignIn()).toBeNull();
    expect((await form({ grant_type: 'password', username: user.email, password: PASSWORD })).statusCode).toBe(200);
    expect(await lastSignIn()).toBe(h.clock().toISOString());
    h.clock.advance(90_000);
    await signIn(h, user.email);
    expect(await lastSignIn()).toBe(h.clock().toISOString());
  });

  it("the token works as Authorization: Bearer, needs no CSRF token, and writes are audited under the user's email", async () => {
    const token = (await form({ grant_type: 'password', username: admin.email, password: PASSWORD })).json().access_token;
    expect((await h.request(token, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(200);
    const created = await h.request(token, { method: 'POST', url: '/api/v1/access-keys', payload: { name: 'by-user-token', roles: [{ role: 'global-viewer' }] } });
    expect(created.statusCode).toBe(201);
    const [event] = await auditRows(h, { category: 'access-keys', actor: admin.email });
    expect(event).toMatchObject({ action: 'add', resource: 'by-user-token' });
  });

  it("carries the user's roles as they are at each request; a deleted user's token is refused", async () => {
    const user = await addUser(h, [{ role: 'global-admin' }]);
    const token = (await form({ grant_type: 'password', username: user.email, password: PASSWORD })).json().access_token;
    expect((await h.request(token, { method: 'GET', url: '/api/v1/users' })).statusCode).toBe(200);
    await h.request(adminKey, { method: 'PATCH', url: `/api/v1/users/${user.id}`, payload: { roles: [{ role: 'global-viewer' }] } });
    const demoted = await h.request(token, { method: 'GET', url: '/api/v1/users' });
    expect(demoted.statusCode).toBe(403);
    expect(demoted.json().code).toBe('insufficient_scope');
    await h.request(adminKey, { method: 'DELETE', url: `/api/v1/users/${user.id}` });
    const gone = await h.request(token, { method: 'GET', url: '/api/v1/session' });
    expect(gone.statusCode).toBe(401);
    expect(gone.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it("a password change revokes the user's tokens at once; a token issued after it works; other users' tokens are untouched", async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const other = await addUser(h, [{ role: 'global-viewer' }]);
    const tokenOf = async (email: string, password = PASSWORD) => (await form({ grant_type: 'password', username: email, password })).json().access_token as string;
    const before = await tokenOf(user.email);
    const kept = await tokenOf(other.email);
    const session = await signIn(h, user.email);
    // The clock is frozen: the change, the old token and the new one share one second.
    expect(
      (await asSession(h, session, { method: 'PUT', url: '/api/v1/session/password', payload: { currentPassword: PASSWORD, newPassword: 'a brand new password' } }))
        .statusCode,
    ).toBe(204);
    const revoked = await h.request(before, { method: 'GET', url: '/api/v1/session' });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().code).toBe('invalid_token');
    const after = await tokenOf(user.email, 'a brand new password');
    expect((await h.request(after, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(200);
    expect((await h.request(kept, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(200);
    // Changed with a user token, the password revokes that token too.
    expect(
      (
        await h.request(after, {
          method: 'PUT',
          url: '/api/v1/session/password',
          payload: { currentPassword: 'a brand new password', newPassword: 'yet another new password' },
        })
      ).statusCode,
    ).toBe(204);
    expect((await h.request(after, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(401);
    h.clock.advance(1500);
    expect((await h.request(await tokenOf(user.email, 'yet another new password'), { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(200);
  });

  it('DELETE /api/v1/session?everywhere=true ends every session and revokes every token of the user, and only that user', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const other = await addUser(h, [{ role: 'global-viewer' }]);
    const tokenOf = async (email: string) => (await form({ grant_type: 'password', username: email, password: PASSWORD })).json().access_token as string;
    const token = await tokenOf(user.email);
    const kept = await tokenOf(other.email);
    const here = await signIn(h, user.email);
    const elsewhere = await signIn(h, user.email);
    const otherSession = await signIn(h, other.email);
    // A plain sign-out ends only its session: the token still works.
    const third = await signIn(h, user.email);
    expect((await asSession(h, third, { method: 'DELETE', url: '/api/v1/session' })).statusCode).toBe(204);
    expect((await h.request(token, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(200);
    expect((await asSession(h, here, { method: 'DELETE', url: '/api/v1/session?everywhere=maybe' })).json().code).toBe('validation_failed');
    const out = await asSession(h, here, { method: 'DELETE', url: '/api/v1/session?everywhere=true' });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/tessera_session=;/);
    expect((await asSession(h, here, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
    expect((await asSession(h, elsewhere, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
    expect((await h.request(token, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(401);
    expect((await h.request(await tokenOf(user.email), { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(200);
    expect((await h.request(kept, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(200);
    expect((await asSession(h, otherSession, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(200);
    // Both sign-outs share the frozen clock's time: pick the one that says it was everywhere.
    const events = (await auditRows(h, { action: 'sign-out', actor: user.email })).map((event) => event.detail);
    expect(events).toHaveLength(2);
    expect(events).toContainEqual({ email: user.email });
    expect(events).toContainEqual({ email: user.email, everywhere: true, sessionsEnded: 2, tokensRevoked: true });
    // A user token can sign its user out everywhere too; an API key cannot sign out.
    const fresh = await tokenOf(user.email);
    expect((await h.request(fresh, { method: 'DELETE', url: '/api/v1/session' })).statusCode).toBe(401);
    expect((await h.request(fresh, { method: 'DELETE', url: '/api/v1/session?everywhere=true' })).statusCode).toBe(204);
    expect((await h.request(fresh, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(401);
    expect((await h.request(adminKey, { method: 'DELETE', url: '/api/v1/session?everywhere=true' })).json().code).toBe('insufficient_scope');
  });

  it('expires after one hour', async () => {
    const token = (await form({ grant_type: 'password', username: admin.email, password: PASSWORD })).json().access_token;
    h.clock.advance(3599 * 1000);
    expect((await h.request(token, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(200);
    h.clock.advance(1000);
    expect((await h.request(token, { method: 'GET', url: '/api/v1/access-keys' })).json().code).toBe('invalid_token');
  });

  it('a user token is not an API key and an API key is not a user token', async () => {
    const token = (await form({ grant_type: 'password', username: admin.email, password: PASSWORD })).json().access_token;
    expect((await h.ctx.tokens.verify('accessKey', token)).ok).toBe(false);
    expect((await h.ctx.tokens.verify('user', adminKey)).ok).toBe(false);
  });

  it('wrong credentials: 400 invalid_grant with the OAuth error field; a pending user gets the same', async () => {
    const wrong = await form({ grant_type: 'password', username: admin.email, password: 'not the password' }, '10.20.0.1');
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'invalid_grant', error: 'invalid_grant' });
    const invited = await h.request(adminKey, { method: 'POST', url: '/api/v1/users', payload: { email: 'pending@example.com', roles: [{ role: 'global-admin' }] } });
    expect(invited.statusCode).toBe(201);
    const pending = await form({ grant_type: 'password', username: 'pending@example.com', password: 'any long password' }, '10.20.0.2');
    expect(pending.json().code).toBe('invalid_grant');
    const [event] = await auditRows(h, { action: 'sign-in-failed', actor: 'pending@example.com' });
    expect(event!.detail).toMatchObject({ via: 'token', reason: 'not-active' });
    const grant = await form({ grant_type: 'client_credentials', username: admin.email, password: PASSWORD });
    expect(grant.json().code).toBe('validation_failed');
  });

  it('is throttled like the session sign-in: 5 failures of one account from one address, then 429 with Retry-After (shared with /session)', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 3; i++) expect((await form({ grant_type: 'password', username: user.email, password: `bad password ${i}` }, '10.21.0.1')).statusCode).toBe(400);
    for (let i = 0; i < 2; i++) {
      const viaSession = await h.app.inject({
        method: 'POST',
        url: '/api/v1/session',
        payload: { email: user.email, password: `bad session ${i}` },
        remoteAddress: '10.21.0.1',
      });
      expect(viaSession.statusCode).toBe(401);
    }
    const blocked = await form({ grant_type: 'password', username: user.email, password: PASSWORD }, '10.21.0.1');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('too_many_requests');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('reads a user with their grants in one query, by token or by session (regression: a second query for the grants)', async () => {
    const [first, second] = [await addAccount(h), await addAccount(h)];
    const roles: Grant[] = [{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: [second.id, first.id] }];
    const user = await addUser(h, roles);
    await signIn(h, user.email);
    const { id_hash } = await h.ctx.storage.db.selectFrom('sessions').select('id_hash').where('user_id', '=', user.id).executeTakeFirstOrThrow();
    let queries = 0;
    const counted = h.ctx.storage.db.withPlugin({
      transformQuery: ({ node }) => {
        queries++;
        return node;
      },
      transformResult: async ({ result }) => result,
    });

    const byToken = await findUserById(counted, user.id);
    expect(queries).toBe(1);
    const bySession = await findSessionWithUser(counted, id_hash);
    expect(queries).toBe(2);
    expect(byToken?.grants).toEqual(mergeGrants(roles));
    expect(bySession?.user.grants).toEqual(mergeGrants(roles));
    expect(bySession?.user).toEqual(byToken);
  });
});
