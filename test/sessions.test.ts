import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { hashSessionId } from '../src/sessions/session.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addUser, asSession, auditRows, PASSWORD, signIn } from './helpers/people.ts';

const MINUTE = 60_000;

describe.each(DIALECTS)('sign-in and sessions (%s)', (dialect) => {
  let h: Harness;
  let admin: { id: string; email: string };
  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = await addUser(h, [{ role: 'global-admin' }], 'Admin@Example.com');
  });
  afterAll(() => h.close());

  it('signs in with email (any case) and password: the user, a CSRF token and an HttpOnly, SameSite=Lax cookie', async () => {
    const s = await signIn(h, 'admin@example.COM');
    const body = s.response.json();
    expect(body.user).toMatchObject({ id: admin.id, email: 'Admin@Example.com', status: 'active', primary: false, roles: [{ role: 'global-admin' }] });
    expect(body.user.lastSignInAt).toBe(h.clock().toISOString());
    expect(body.user).not.toHaveProperty('passwordHash');
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const setCookie = String(s.response.headers['set-cookie']);
    expect(setCookie).toMatch(/^tessera_session=/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Lax');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain('Secure');
    expect(s.response.headers['cache-control']).toBe('no-store');
    // The database keeps the SHA-256 of the cookie only.
    const value = s.cookie.split('=')[1]!;
    const rows = await h.ctx.storage.db.selectFrom('sessions').selectAll().where('user_id', '=', admin.id).execute();
    expect(rows.map((r) => r.id_hash)).toContain(hashSessionId(value));
    expect(JSON.stringify(rows)).not.toContain(value);
    const events = await auditRows(h, { category: 'session', action: 'sign-in', actor: 'Admin@Example.com' });
    expect(events.at(-1)).toMatchObject({ actor_ip: '127.0.0.1', resource_id: admin.id, detail: { email: 'Admin@Example.com', via: 'session' } });
  });

  it('GET /session answers the user and the same CSRF token; without a cookie 401', async () => {
    const s = await signIn(h, admin.email);
    const res = await asSession(h, s, { method: 'GET', url: '/api/v1/session' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user: { id: admin.id, email: admin.email }, csrfToken: s.csrfToken });
    const none = await h.app.inject({ method: 'GET', url: '/api/v1/session' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('invalid_token');
    const forged = await h.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: 'tessera_session=' + 'A'.repeat(43) } });
    expect(forged.json().code).toBe('invalid_token');
  });

  it('state changes with the cookie need the x-csrf-token header (403 csrf_failed); reads do not', async () => {
    const s = await signIn(h, admin.email);
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/access-keys', csrf: false })).statusCode).toBe(200);
    const payload = { name: 'from-console', roles: [{ role: 'global-viewer' }] };
    const without = await asSession(h, s, { method: 'POST', url: '/api/v1/access-keys', payload, csrf: false });
    expect(without.statusCode).toBe(403);
    expect(without.json().code).toBe('csrf_failed');
    const wrong = await h.app.inject({ method: 'POST', url: '/api/v1/access-keys', payload, headers: { cookie: s.cookie, 'x-csrf-token': 'x'.repeat(43) } });
    expect(wrong.json().code).toBe('csrf_failed');
    const other = await signIn(h, admin.email);
    const crossed = await h.app.inject({ method: 'POST', url: '/api/v1/access-keys', payload, headers: { cookie: s.cookie, 'x-csrf-token': other.csrfToken } });
    expect(crossed.json().code).toBe('csrf_failed');
    const ok = await asSession(h, s, { method: 'POST', url: '/api/v1/access-keys', payload });
    expect(ok.statusCode).toBe(201);
    const [event] = await auditRows(h, { category: 'access-keys', actor: admin.email });
    expect(event).toMatchObject({ action: 'add', resource: 'from-console', actor_ip: '127.0.0.1' });
  });

  it('refuses a wrong password and an unknown email alike (401 invalid_credentials), and audits both', async () => {
    const wrong = await h.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { email: admin.email, password: 'not the password!' },
      remoteAddress: '10.1.0.1',
    });
    h.clock.advance(1);
    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { email: 'nobody@example.com', password: PASSWORD },
      remoteAddress: '10.1.0.1',
    });
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_credentials');
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(wrong.json().detail).toBe(unknown.json().detail);
    const failed = await auditRows(h, { action: 'sign-in-failed' });
    expect(failed.slice(-2).map((e) => [e.actor, e.actor_ip, e.resource, e.detail['reason']])).toEqual([
      [admin.email, '10.1.0.1', admin.email, 'wrong-password'],
      // An unknown email is the resource, never the actor (an attacker could type `key:…`).
      ['anonymous', '10.1.0.1', 'nobody@example.com', 'unknown-user'],
    ]);
    expect(JSON.stringify(failed)).not.toContain('not the password!');
  });

  it('accepts JSON only (a cross-site form cannot sign a browser in)', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: `email=${encodeURIComponent(admin.email)}&password=${encodeURIComponent(PASSWORD)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
  });

  it('signing out ends the session at once and clears the cookie; it needs the CSRF token', async () => {
    const s = await signIn(h, admin.email);
    const noCsrf = await asSession(h, s, { method: 'DELETE', url: '/api/v1/session', csrf: false });
    expect(noCsrf.json().code).toBe('csrf_failed');
    const out = await asSession(h, s, { method: 'DELETE', url: '/api/v1/session' });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/tessera_session=;.*Expires=Thu, 01 Jan 1970/);
    const after = await asSession(h, s, { method: 'GET', url: '/api/v1/session' });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('invalid_token');
    const [event] = (await auditRows(h, { action: 'sign-out' })).slice(-1);
    expect(event).toMatchObject({ category: 'session', actor: admin.email, resource_id: admin.id });
  });

  it('a new sign-in from the same browser ends the session it held (no fixation)', async () => {
    const first = await signIn(h, admin.email);
    const second = await h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { email: admin.email, password: PASSWORD }, headers: { cookie: first.cookie } });
    expect(second.statusCode).toBe(200);
    expect((await asSession(h, first, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
  });

  it('the idle timeout holds although activity is written at most once a minute', async () => {
    const s = await signIn(h, admin.email);
    const hash = hashSessionId(s.cookie.split('=')[1]!);
    const lastSeen = async () =>
      (await h.ctx.storage.db.selectFrom('sessions').select('last_seen_at').where('id_hash', '=', hash).executeTakeFirstOrThrow()).last_seen_at;
    const signedInAt = await lastSeen();
    h.clock.advance(20 * 1000);
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(200);
    expect(await lastSeen()).toBe(signedInAt); // no write within the minute
    h.clock.advance(20 * MINUTE);
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(200);
    expect(await lastSeen()).toBe(h.clock().toISOString());
    h.clock.advance(20 * MINUTE); // 40 minutes after sign-in, 20 idle: alive
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(200);
    h.clock.advance(30 * MINUTE); // 30 idle: over
    const idle = await asSession(h, s, { method: 'GET', url: '/api/v1/session' });
    expect(idle.statusCode).toBe(401);
    expect(idle.json().code).toBe('invalid_token');
  });

  it('the absolute timeout (12 hours) ends even an active session', async () => {
    const s = await signIn(h, admin.email);
    for (let i = 0; i < 11 * 3; i++) {
      h.clock.advance(20 * MINUTE);
      expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(200);
    }
    h.clock.advance(60 * MINUTE);
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
  });

  it('sessions live in the database: another instance on the same database honours the cookie', async () => {
    const s = await signIn(h, admin.email);
    const ctx2 = await createContext(h.config, createLogger(h.config), { clock: h.clock });
    const app2 = await buildApp(ctx2, { logRequests: false });
    try {
      const res = await app2.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } });
      expect(res.statusCode).toBe(200);
      expect(res.json().user.id).toBe(admin.id);
    } finally {
      await app2.close();
      await ctx2.close();
    }
  });

  it("the user's current roles apply at the next request; a deleted user's session is dead", async () => {
    const user = await addUser(h, [{ role: 'global-admin' }]);
    const s = await signIn(h, user.email);
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(200);
    const me = await signIn(h, admin.email);
    const edit = await asSession(h, me, { method: 'PATCH', url: `/api/v1/users/${user.id}`, payload: { roles: [{ role: 'global-viewer' }] } });
    expect(edit.statusCode).toBe(200);
    const denied = await asSession(h, s, { method: 'GET', url: '/api/v1/access-keys' });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('insufficient_scope');
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).json().user.roles).toEqual([{ role: 'global-viewer' }]);
    expect((await asSession(h, me, { method: 'DELETE', url: `/api/v1/users/${user.id}` })).statusCode).toBe(204);
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
  });

  // The service's sweep, called directly: runNow() skips when another holder has the job's
  // advisory lock, and this assertion must not depend on that.
  it('the cleanup sweep deletes ended sessions', async () => {
    const s = await signIn(h, admin.email);
    const hash = hashSessionId(s.cookie.split('=')[1]!);
    expect(await h.ctx.sessions.sweep()).toBeGreaterThanOrEqual(0);
    expect(await h.ctx.storage.db.selectFrom('sessions').select('id_hash').where('id_hash', '=', hash).executeTakeFirst()).toBeDefined();
    h.clock.advance(31 * MINUTE);
    expect(await h.ctx.sessions.sweep()).toBeGreaterThan(0);
    expect(await h.ctx.storage.db.selectFrom('sessions').select('id_hash').where('id_hash', '=', hash).executeTakeFirst()).toBeUndefined();
  });
});

describe.each(DIALECTS)('sign-in throttling (%s)', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(() => h.close());

  const attempt = (email: string, password: string, remoteAddress: string) =>
    h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { email, password }, remoteAddress });

  it('after 5 failures of one account from one address, that pair gets 429 with Retry-After, even with the right password, until the window ends', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 5; i++) expect((await attempt(user.email, 'wrong password ' + i, '10.2.0.1')).json().code).toBe('invalid_credentials');
    const blocked = await attempt(user.email, PASSWORD, '10.2.0.1');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('too_many_requests');
    expect(Number(blocked.headers['retry-after'])).toBe(15 * 60);
    h.clock.advance(10 * MINUTE);
    expect(Number((await attempt(user.email, PASSWORD, '10.2.0.1')).headers['retry-after'])).toBe(5 * 60);
    h.clock.advance(5 * MINUTE);
    expect((await attempt(user.email, PASSWORD, '10.2.0.1')).statusCode).toBe(200);
  });

  it('five failures for an account from address A do not stop the right password from address B (nobody can lock a user out)', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 5; i++) expect((await attempt(user.email, 'attacker guess ' + i, '203.0.113.66')).statusCode).toBe(401);
    expect((await attempt(user.email, PASSWORD, '203.0.113.66')).statusCode).toBe(429);
    expect((await attempt(user.email, PASSWORD, '198.51.100.7')).statusCode).toBe(200);
  });

  it('an account guessed at from many addresses is slowed down (1 s after 10 failures), never locked', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 10; i++) expect((await attempt(user.email, 'spread guess ' + i, `10.6.${i}.1`)).statusCode).toBe(401);
    const started = performance.now();
    expect((await attempt(user.email, PASSWORD, '10.6.99.1')).statusCode).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  // 20 scrypt hashes each: give a loaded machine time.
  it('after 20 failures from one address (any accounts), that address is refused; others are not', { timeout: 90_000 }, async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 20; i++) expect((await attempt(`guess${i}@example.com`, 'whatever password', '10.3.0.1')).statusCode).toBe(401);
    const blocked = await attempt(user.email, PASSWORD, '10.3.0.1');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
    expect((await attempt(user.email, PASSWORD, '10.3.0.2')).statusCode).toBe(200);
  });

  it('an IPv6 /64 counts as one address', { timeout: 90_000 }, async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 20; i++) expect((await attempt(`v6guess${i}@example.com`, 'whatever password', `2001:db8:7:7::${i + 1}`)).statusCode).toBe(401);
    expect((await attempt(user.email, PASSWORD, '2001:db8:7:7:ffff::1')).statusCode).toBe(429);
    expect((await attempt(user.email, PASSWORD, '2001:db8:7:8::1')).statusCode).toBe(200);
  });

  it('parallel guesses cannot slip past the limit', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => attempt(user.email, 'parallel guess ' + i, '10.4.0.1')));
    expect(results.filter((r) => r.statusCode === 401)).toHaveLength(5);
    expect(results.filter((r) => r.statusCode === 429)).toHaveLength(3);
    const failed = await auditRows(h, { action: 'sign-in-failed', actor: user.email });
    expect(failed).toHaveLength(5);
  });

  it('a success resets the count of its account and address', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 4; i++) await attempt(user.email, 'wrong password ' + i, '10.5.0.1');
    expect((await attempt(user.email, PASSWORD, '10.5.0.1')).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await attempt(user.email, 'wrong again ' + i, '10.5.0.1')).statusCode).toBe(401);
    expect((await attempt(user.email, PASSWORD, '10.5.0.1')).statusCode).toBe(200);
  });
});

describe.each(DIALECTS)('sign-in behind a trusted proxy (%s)', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect, { env: { TESSERA_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8:ffff::1' } });
  });
  afterAll(() => h.close());

  const viaProxy = (email: string, password: string, client: string, proxy = '10.0.0.5') =>
    h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { email, password }, remoteAddress: proxy, headers: { 'x-forwarded-for': client } });

  it('counts failures per client address: failures from one client do not block another behind the same balancer', { timeout: 90_000 }, async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 20; i++) expect((await viaProxy(`made-up${i}@example.com`, 'whatever password', '203.0.113.9')).statusCode).toBe(401);
    expect((await viaProxy(user.email, PASSWORD, '203.0.113.9')).statusCode).toBe(429);
    expect((await viaProxy(user.email, PASSWORD, '198.51.100.20', '2001:db8:ffff::1')).statusCode).toBe(200);
    // The audit log names the client, not the balancer.
    const failed = await auditRows(h, { action: 'sign-in-failed' });
    expect(new Set(failed.map((e) => e.actor_ip))).toEqual(new Set(['203.0.113.9']));
    const [signedIn] = await auditRows(h, { action: 'sign-in', actor: user.email });
    expect(signedIn!.actor_ip).toBe('198.51.100.20');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    for (let i = 0; i < 5; i++) expect((await viaProxy(user.email, 'spoofed guess ' + i, `198.18.0.${i}`, '192.0.2.44')).statusCode).toBe(401);
    expect((await viaProxy(user.email, PASSWORD, '198.18.0.200', '192.0.2.44')).statusCode).toBe(429);
    const failed = await auditRows(h, { action: 'sign-in-failed', actor: user.email });
    expect(new Set(failed.map((e) => e.actor_ip))).toEqual(new Set(['192.0.2.44']));
  });

  it("records the client address as an API key's last-use address", async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    const res = await h.app.inject({
      method: 'GET',
      url: '/api/v1/cloud-accounts',
      remoteAddress: '10.0.0.5',
      headers: { authorization: `Bearer ${key.token}`, 'x-forwarded-for': '203.0.113.50' },
    });
    expect(res.statusCode).toBe(200);
    await h.ctx.usage.flush();
    const row = await h.ctx.storage.db.selectFrom('access_keys').select('last_used_ip').where('id', '=', key.id).executeTakeFirstOrThrow();
    expect(row.last_used_ip).toBe('203.0.113.50');
  });
});

describe('session cookie over https', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite', { env: { TESSERA_PUBLIC_URL: 'https://tessera.example.com', TESSERA_SESSION_IDLE_MINUTES: '5' } });
  });
  afterAll(() => h.close());

  it('is Secure, with the __Host- prefix, and the configured idle timeout applies', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const s = await signIn(h, user.email);
    const setCookie = String(s.response.headers['set-cookie']);
    expect(setCookie).toMatch(/^__Host-tessera_session=/);
    expect(setCookie).toContain('Secure');
    expect(setCookie).toContain('HttpOnly');
    h.clock.advance(4 * MINUTE);
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(200);
    h.clock.advance(5 * MINUTE);
    expect((await asSession(h, s, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
    // The periodic cleanup job is declared and removes it.
    await h.ctx.scheduler.runNow('session-cleanup');
    expect(await h.ctx.storage.db.selectFrom('sessions').selectAll().execute()).toEqual([]);
  });
});

describe.each(DIALECTS)("changing one's password (%s)", (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(() => h.close());

  it('needs the current password and the CSRF token; ends the other sessions, keeps this one', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const here = await signIn(h, user.email);
    const elsewhere = await signIn(h, user.email);
    const payload = { currentPassword: PASSWORD, newPassword: 'a brand new password' };
    expect((await asSession(h, here, { method: 'PUT', url: '/api/v1/session/password', payload, csrf: false })).json().code).toBe('csrf_failed');
    const wrong = await asSession(h, here, { method: 'PUT', url: '/api/v1/session/password', payload: { ...payload, currentPassword: 'not my password' } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'body', pointer: '/currentPassword' }] });
    const short = await asSession(h, here, { method: 'PUT', url: '/api/v1/session/password', payload: { ...payload, newPassword: 'too short' } });
    expect(short.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'body', pointer: '/newPassword' }] });
    const ok = await asSession(h, here, { method: 'PUT', url: '/api/v1/session/password', payload });
    expect(ok.statusCode).toBe(204);
    expect((await asSession(h, here, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(200);
    expect((await asSession(h, elsewhere, { method: 'GET', url: '/api/v1/session' })).statusCode).toBe(401);
    const old = await h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD } });
    expect(old.json().code).toBe('invalid_credentials');
    await signIn(h, user.email, 'a brand new password');
    const [event] = await auditRows(h, { category: 'users', action: 'edit', actor: user.email });
    expect(event!.detail).toEqual({ email: user.email, passwordChanged: true, sessionsEnded: 1, tokensRevoked: true });
    expect(JSON.stringify(event)).not.toContain('a brand new password');
  });

  it('an API key has no password to change (403)', async () => {
    const key = await h.key([{ role: 'global-admin' }]);
    const res = await h.request(key.token, {
      method: 'PUT',
      url: '/api/v1/session/password',
      payload: { currentPassword: 'whatever it is', newPassword: 'a brand new password' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
  });
});
