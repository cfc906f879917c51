import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, TEST_PUBLIC_URL, type Harness } from './helpers/harness.ts';
import { addUser, asSession, auditRows, signIn, type SignedIn } from './helpers/people.ts';

describe.each(DIALECTS)('users API (%s)', (dialect) => {
  let h: Harness;
  let adminKey: string;
  let viewerKey: string;
  let primaryId: string;
  beforeAll(async () => {
    h = await createHarness(dialect, { env: { TESSERA_ADMIN_EMAIL: 'root@example.com', TESSERA_ADMIN_PASSWORD: 'the primary password' } });
    const first = await h.ctx.users.ensureFirstAdmin('root@example.com', 'the primary password');
    primaryId = first!.user.id;
    adminKey = (await h.key([{ role: 'global-admin' }], { name: 'admin-key' })).token;
    viewerKey = (await h.key([{ role: 'global-viewer' }], { name: 'viewer-key' })).token;
  });
  afterAll(() => h.close());

  const invite = (body: object, token = adminKey) => h.request(token, { method: 'POST', url: '/api/v1/users', payload: body });

  it('invites a user: 201, pending, an invitation link valid 7 days; recorded in the audit log without the token', async () => {
    const res = await invite({ email: 'Ann@Example.com', displayName: 'Ann', roles: [{ role: 'global-viewer' }] });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      email: 'Ann@Example.com',
      displayName: 'Ann',
      status: 'pending',
      primary: false,
      roles: [{ role: 'global-viewer' }],
      lastSignInAt: null,
    });
    expect(body.invitationUrl).toMatch(new RegExp(`^${TEST_PUBLIC_URL}/invite/[A-Za-z0-9_-]{43}$`));
    expect(body.invitationExpiresAt).toBe(new Date(h.clock().getTime() + 7 * 24 * 3600 * 1000).toISOString());
    expect(res.headers['cache-control']).toBe('no-store');
    const token = body.invitationUrl.split('/').pop();
    const events = await auditRows(h, { actor: 'key:admin-key' });
    // One transaction, one time: both events, in no particular order.
    expect(events.map((e) => `${e.category}/${e.action}`).sort()).toEqual(['invitations/add', 'users/add']);
    expect(events.find((e) => e.category === 'users')!.detail).toMatchObject({ email: 'Ann@Example.com', roles: [{ role: 'global-viewer' }], status: 'pending' });
    expect(JSON.stringify(events)).not.toContain(token);
    const stored = await h.ctx.storage.db.selectFrom('invitations').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('emails are unique case-insensitively (409 email_taken) and validated (400)', async () => {
    const dup = await invite({ email: 'ann@example.COM', roles: [{ role: 'global-viewer' }] });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('email_taken');
    const bad = await invite({ email: 'not an email', roles: [{ role: 'global-viewer' }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0]).toMatchObject({ in: 'body', pointer: '/email' });
    const noRoles = await invite({ email: 'x@example.com', roles: [] });
    expect(noRoles.json().code).toBe('validation_failed');
    const unknown = await invite({ email: 'y@example.com', roles: [{ role: 'cloud-account-viewer', accounts: ['no-such-account'] }] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'unknown_accounts', unknownAccounts: ['no-such-account'] });
    const extra = await invite({ email: 'z@example.com', roles: [{ role: 'global-viewer' }], password: 'sneaky password' });
    expect(extra.json().errors[0]).toMatchObject({ in: 'body', pointer: '/password' });
    expect(await auditRows(h, { category: 'users', action: 'add', actor: 'key:admin-key' })).toHaveLength(1);
  });

  it('lists users in email order with cursor pagination and filters', async () => {
    for (const name of ['carl', 'bea', 'dora']) await invite({ email: `${name}@example.com`, roles: [{ role: 'global-viewer' }] });
    const first = await h.request(adminKey, { method: 'GET', url: '/api/v1/users?limit=2' });
    expect(first.statusCode).toBe(200);
    expect(first.json().items.map((u: { email: string }) => u.email)).toEqual(['Ann@Example.com', 'bea@example.com']);
    const second = await h.request(adminKey, { method: 'GET', url: `/api/v1/users?limit=2&cursor=${first.json().nextCursor}` });
    expect(second.json().items.map((u: { email: string }) => u.email)).toEqual(['carl@example.com', 'dora@example.com']);
    const third = await h.request(adminKey, { method: 'GET', url: `/api/v1/users?limit=2&cursor=${second.json().nextCursor}` });
    expect(third.json()).toMatchObject({ items: [{ email: 'root@example.com', primary: true, status: 'active', invitationExpiresAt: null }], nextCursor: null });
    const pending = await h.request(adminKey, { method: 'GET', url: '/api/v1/users?status=pending&q=AR' });
    expect(pending.json().items.map((u: { email: string }) => u.email)).toEqual(['carl@example.com']);
    expect(pending.json().items[0].invitationExpiresAt).not.toBeNull();
    const badCursor = await h.request(adminKey, { method: 'GET', url: '/api/v1/users?cursor=nonsense' });
    expect(badCursor.json().code).toBe('validation_failed');
  });

  it('emails and display names refuse invisible and control characters; emails collide after NFKC and case folding', async () => {
    for (const email of [
      'esc\u001b@example.com',
      'del\u007f@example.com',
      'c1\u0085@example.com',
      'c1\u009b@example.com',
      'zw\u200b@example.com',
      'rtl\u202e@example.com',
      '\u3164@example.com',
    ]) {
      const res = await invite({ email, roles: [{ role: 'global-viewer' }] });
      expect(res.statusCode, JSON.stringify(email)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer: '/email' });
    }
    for (const displayName of ['\u200b', '\u3164', 'Ann\u202e', '\u2800', '   ']) {
      const res = await invite({ email: 'named@example.com', displayName, roles: [{ role: 'global-viewer' }] });
      expect(res.statusCode, JSON.stringify(displayName)).toBe(400);
      expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer: '/displayName' });
    }
    const added = await invite({ email: 'fold@example.com', roles: [{ role: 'global-viewer' }] });
    expect(added.statusCode).toBe(201);
    const wide = await invite({ email: 'ＦＯＬＤ@example.com', roles: [{ role: 'global-viewer' }] });
    expect(wide.statusCode).toBe(409);
    expect(wide.json().code).toBe('email_taken');
    const found = await h.request(adminKey, { method: 'GET', url: `/api/v1/users?q=${encodeURIComponent('ｆｏｌｄ@')}` });
    expect(found.json().items.map((u: { email: string }) => u.email)).toEqual(['fold@example.com']);
    // Sign-in looks the address up by the same folding.
    const user = await addUser(h, [{ role: 'global-viewer' }], 'signer@example.com');
    expect((await signIn(h, 'ＳＩＧＮＥＲ@example.com')).response.json().user.id).toBe(user.id);
  });

  it('edits display name and roles; an email in the body is refused (400) and the email never changes', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const res = await h.request(adminKey, {
      method: 'PATCH',
      url: `/api/v1/users/${user.id}`,
      payload: { displayName: '  Eve Example ', roles: [{ role: 'cloud-account-viewer', accounts: 'all' }] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ email: user.email, displayName: 'Eve Example', roles: [{ role: 'cloud-account-viewer', accounts: 'all' }] });
    const withEmail = await h.request(adminKey, { method: 'PATCH', url: `/api/v1/users/${user.id}`, payload: { email: 'new@example.com' } });
    expect(withEmail.statusCode).toBe(400);
    expect(withEmail.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'body', pointer: '/email' }] });
    const empty = await h.request(adminKey, { method: 'PATCH', url: `/api/v1/users/${user.id}`, payload: {} });
    expect(empty.statusCode).toBe(400);
    expect((await h.request(adminKey, { method: 'GET', url: `/api/v1/users/${user.id}` })).json().email).toBe(user.email);
    const [event] = (await auditRows(h, { category: 'users', action: 'edit' })).slice(-1);
    expect(event!.detail).toEqual({
      email: user.email,
      displayName: { before: user.email.split('@')[0], after: 'Eve Example' },
      roles: { before: [{ role: 'global-viewer' }], after: [{ role: 'cloud-account-viewer', accounts: 'all' }] },
    });
    expect((await h.request(adminKey, { method: 'PATCH', url: '/api/v1/users/nope', payload: { displayName: 'x' } })).json().code).toBe('not_found');
  });

  it('the primary user cannot be deleted or lose Global Admin (409 primary_user_protected), but can be renamed', async () => {
    const del = await h.request(adminKey, { method: 'DELETE', url: `/api/v1/users/${primaryId}` });
    expect(del.statusCode).toBe(409);
    expect(del.json().code).toBe('primary_user_protected');
    const demote = await h.request(adminKey, { method: 'PATCH', url: `/api/v1/users/${primaryId}`, payload: { roles: [{ role: 'global-viewer' }] } });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().code).toBe('primary_user_protected');
    const widen = await h.request(adminKey, {
      method: 'PATCH',
      url: `/api/v1/users/${primaryId}`,
      payload: { displayName: 'Root', roles: [{ role: 'global-viewer' }, { role: 'global-admin' }] },
    });
    expect(widen.statusCode).toBe(200);
    expect(widen.json()).toMatchObject({ primary: true, displayName: 'Root', roles: [{ role: 'global-admin' }, { role: 'global-viewer' }] });
  });

  it('deletes a user (204, audited); nobody can delete themselves', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const del = await h.request(adminKey, { method: 'DELETE', url: `/api/v1/users/${user.id}` });
    expect(del.statusCode).toBe(204);
    expect((await h.request(adminKey, { method: 'GET', url: `/api/v1/users/${user.id}` })).statusCode).toBe(404);
    expect((await h.request(adminKey, { method: 'DELETE', url: `/api/v1/users/${user.id}` })).json().code).toBe('not_found');
    const [event] = (await auditRows(h, { category: 'users', action: 'delete' })).slice(-1);
    expect(event).toMatchObject({ actor: 'key:admin-key', resource: user.email, resource_id: user.id });
    const admin = await addUser(h, [{ role: 'global-admin' }]);
    const s: SignedIn = await signIn(h, admin.email);
    const self = await asSession(h, s, { method: 'DELETE', url: `/api/v1/users/${admin.id}` });
    expect(self.statusCode).toBe(409);
    expect(self.json().code).toBe('conflict');
  });

  it('only Global Admins reach /users: a viewer key or a viewer user gets 403, no credentials 401', async () => {
    expect((await h.request(viewerKey, { method: 'GET', url: '/api/v1/users' })).json().code).toBe('insufficient_scope');
    expect((await invite({ email: 'v@example.com', roles: [{ role: 'global-viewer' }] }, viewerKey)).statusCode).toBe(403);
    const viewer = await addUser(h, [{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: 'all' }]);
    const s = await signIn(h, viewer.email);
    for (const [method, url] of [
      ['GET', '/api/v1/users'],
      ['GET', '/api/v1/access-keys'],
      ['GET', '/api/v1/audit-events'],
      ['POST', '/api/v1/users'],
    ] as const) {
      const res = await asSession(h, s, { method, url, ...(method === 'POST' ? { payload: { email: 'w@example.com', roles: [{ role: 'global-viewer' }] } } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().code).toBe('insufficient_scope');
    }
    expect((await h.request(undefined, { method: 'GET', url: '/api/v1/users' })).statusCode).toBe(401);
  });

  it('a Global Admin user manages users through the console session', async () => {
    const admin = await addUser(h, [{ role: 'global-admin' }]);
    const s = await signIn(h, admin.email, undefined, '10.9.9.9');
    const res = await asSession(h, s, {
      method: 'POST',
      url: '/api/v1/users',
      payload: { email: 'console-made@example.com', roles: [{ role: 'global-viewer' }] },
      remoteAddress: '10.9.9.9',
    });
    expect(res.statusCode).toBe(201);
    const [event] = await auditRows(h, { category: 'users', action: 'add', actor: admin.email });
    expect(event).toMatchObject({ actor_ip: '10.9.9.9', resource: 'console-made@example.com' });
  });

  it("createActive (the CLI's users create) still adds an active user who can sign in, and refuses short passwords", async () => {
    const { user } = await h.ctx.users.createActive(CLI_ACTOR, { email: 'cli@example.com', roles: [{ role: 'global-viewer' }], password: 'long enough pw' });
    expect(user.status).toBe('active');
    await signIn(h, 'cli@example.com', 'long enough pw');
    await expect(h.ctx.users.createActive(CLI_ACTOR, { email: 'cli2@example.com', roles: [{ role: 'global-viewer' }], password: 'short' })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('a generated password is flagged until the user chooses their own; a chosen one never is', async () => {
    const { user, generatedPassword } = await h.ctx.users.createActive(CLI_ACTOR, { email: 'gen@example.com', roles: [{ role: 'global-viewer' }] });
    expect(user.passwordGenerated).toBe(true);
    const session = await signIn(h, 'gen@example.com', generatedPassword);
    expect(session.response.json().user.passwordGenerated).toBe(true);
    const changed = await asSession(h, session, {
      method: 'PUT',
      url: '/api/v1/session/password',
      payload: { currentPassword: generatedPassword, newPassword: 'a password of my own' },
    });
    expect(changed.statusCode, changed.body).toBe(204);
    const after = await asSession(h, session, { method: 'GET', url: '/api/v1/session' });
    expect(after.json().user.passwordGenerated).toBe(false);

    const chosen = await h.ctx.users.createActive(CLI_ACTOR, { email: 'chosen@example.com', roles: [{ role: 'global-viewer' }], password: 'long enough pw' });
    expect(chosen.user.passwordGenerated).toBe(false);
    const primary = await signIn(h, 'root@example.com', 'the primary password');
    expect(primary.response.json().user.passwordGenerated).toBe(false);
  });

  it('password-reset gives an active user a new generated password, shown once, and ends their sessions; 409 for a pending user', async () => {
    const { user, generatedPassword } = await h.ctx.users.createActive(CLI_ACTOR, { email: 'reset@example.com', roles: [{ role: 'global-viewer' }] });
    const session = await signIn(h, 'reset@example.com', generatedPassword!);
    const res = await h.request(adminKey, { method: 'POST', url: `/api/v1/users/${user.id}/password-reset` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ id: user.id, email: 'reset@example.com', status: 'active' });
    expect(body.password).toMatch(/^\S{12,}$/);
    expect(body.password).not.toBe(generatedPassword);
    expect((await asSession(h, session, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
    const again = await signIn(h, 'reset@example.com', body.password);
    // A password someone else passed on is one to change.
    expect(again.response.json().user.passwordGenerated).toBe(true);
    const events = await auditRows(h, { actor: 'key:admin-key' });
    const event = events.find((e) => e.resource === 'reset@example.com');
    expect(event).toMatchObject({ action: 'edit' });
    expect(JSON.stringify(events)).not.toContain(body.password);

    const pending = (await invite({ email: 'not-yet@example.com', roles: [{ role: 'global-viewer' }] })).json();
    const refused = await h.request(adminKey, { method: 'POST', url: `/api/v1/users/${pending.id}/password-reset` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toContain('has not accepted the invitation yet');
  });
});
