import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { auditRows, signIn } from './helpers/people.ts';

const DAY = 24 * 3600 * 1000;

describe.each(DIALECTS)('invitations (%s)', (dialect) => {
  let h: Harness;
  let adminKey: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    adminKey = (await h.key([{ role: 'global-admin' }], { name: 'admin-key' })).token;
  });
  afterAll(() => h.close());

  let n = 0;
  async function invite(roles: object[] = [{ role: 'global-viewer' }]): Promise<{ id: string; email: string; token: string }> {
    const email = `invitee${++n}@example.com`;
    const res = await h.request(adminKey, { method: 'POST', url: '/api/v1/users', payload: { email, roles } });
    expect(res.statusCode).toBe(201);
    return { id: res.json().id, email, token: res.json().invitationUrl.split('/invite/')[1] };
  }
  const accept = (token: string, password: string) =>
    h.app.inject({ method: 'POST', url: '/api/v1/invitations/accept', payload: { token, password }, remoteAddress: '10.7.0.1' });

  it('accepting sets the password and activates the user once; a second use fails', async () => {
    const inv = await invite();
    const pendingSignIn = await h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { email: inv.email, password: 'anything at all' } });
    expect(pendingSignIn.json().code).toBe('invalid_credentials');
    const inspected = await h.app.inject({ method: 'POST', url: '/api/v1/invitations/inspect', payload: { token: inv.token } });
    expect(inspected.json()).toMatchObject({ email: inv.email });
    const res = await accept(inv.token, 'my own long password');
    expect(res.statusCode).toBe(200);
    expect(res.json().user).toMatchObject({ id: inv.id, email: inv.email, status: 'active' });
    await signIn(h, inv.email, 'my own long password');
    const again = await accept(inv.token, 'another long password');
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('invitation_invalid');
    const [event] = await auditRows(h, { category: 'invitations', action: 'accept' });
    expect(event).toMatchObject({ actor: inv.email, actor_ip: '10.7.0.1', resource_id: inv.id });
    expect(JSON.stringify(event)).not.toContain('my own long password');
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/invitations/inspect', payload: { token: inv.token } })).json().code).toBe('invitation_invalid');
  });

  it('refuses passwords under 12 characters, and leaves the invitation usable', async () => {
    const inv = await invite();
    const short = await accept(inv.token, 'elevenchars');
    expect(short.statusCode).toBe(400);
    expect(short.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'body', pointer: '/password' }] });
    expect((await accept(inv.token, 'twelve chars')).statusCode).toBe(200);
  });

  it('a link expires after 7 days', async () => {
    const inv = await invite();
    h.clock.advance(7 * DAY);
    const res = await accept(inv.token, 'a long enough password');
    expect(res.json().code).toBe('invitation_invalid');
    const user = await h.request(adminKey, { method: 'GET', url: `/api/v1/users/${inv.id}` });
    expect(user.json().status).toBe('pending');
  });

  it('a new link kills the old one; an active user gets no new link (409)', async () => {
    const inv = await invite();
    const again = await h.request(adminKey, { method: 'POST', url: `/api/v1/users/${inv.id}/invitation` });
    expect(again.statusCode).toBe(201);
    const newToken = again.json().invitationUrl.split('/invite/')[1];
    expect(newToken).not.toBe(inv.token);
    expect(again.json()).toMatchObject({ id: inv.id, status: 'pending' });
    expect((await accept(inv.token, 'a long enough password')).json().code).toBe('invitation_invalid');
    expect((await accept(newToken, 'a long enough password')).statusCode).toBe(200);
    const active = await h.request(adminKey, { method: 'POST', url: `/api/v1/users/${inv.id}/invitation` });
    expect(active.statusCode).toBe(409);
    expect(active.json().code).toBe('conflict');
    const [event] = await auditRows(h, { category: 'invitations', action: 'replace' });
    expect(event).toMatchObject({ actor: 'key:admin-key', resource_id: inv.id });
  });

  it('deleting a pending user revokes the invitation', async () => {
    const inv = await invite();
    expect((await h.request(adminKey, { method: 'DELETE', url: `/api/v1/users/${inv.id}` })).statusCode).toBe(204);
    expect((await accept(inv.token, 'a long enough password')).json().code).toBe('invitation_invalid');
    expect(await h.ctx.storage.db.selectFrom('invitations').selectAll().where('user_id', '=', inv.id).execute()).toEqual([]);
    const [event] = (await auditRows(h, { category: 'users', action: 'delete' })).slice(-1);
    expect(event!.detail).toEqual({ email: inv.email, invitationRevoked: true });
  });

  it('unknown or malformed tokens are 400 invitation_invalid, never 500; the body is strict', async () => {
    expect((await accept('A'.repeat(43), 'a long enough password')).json().code).toBe('invitation_invalid');
    expect((await accept('../../etc', 'a long enough password')).json().code).toBe('invitation_invalid');
    const extra = await h.app.inject({
      method: 'POST',
      url: '/api/v1/invitations/accept',
      payload: { token: 'x', password: 'a long enough password', email: 'x@example.com' },
    });
    expect(extra.json().code).toBe('validation_failed');
  });

  it('of two concurrent accepts of one link, exactly one succeeds', async () => {
    const inv = await invite();
    const results = await Promise.all([accept(inv.token, 'first long password'), accept(inv.token, 'second long password')]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 400]);
  });
});
