import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DORMANT_KEYS_JOB } from '../src/access-keys/access-key.service.ts';
import { runCli } from './helpers/cli.ts';
import { DIALECTS } from './helpers/databases.ts';
import { settleChanges } from './helpers/feed.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { call, createAdminKeyOn, readKeyOn } from './helpers/instances.ts';
import { useTwoInstances } from './helpers/two-instances.ts';
import { auditRows } from './helpers/people.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const NO_POLICY = { maxDays: { 'global-admin': null, 'global-viewer': null, 'cloud-account-viewer': null }, disableAfterUnusedDays: null, requireDescription: false };

// Issue 17, parts 1–3: roll with a grace period, description and disable, lifetime policy and
// dormancy. Every check of a token runs twice first, so that the refusal must come from the
// caches being dropped, not from a cold lookup that would refuse anyway.
describe.each(DIALECTS)('an access key between creation and removal (%s)', (dialect) => {
  let h: Harness;
  let admin: string;

  const api = (method: string, url: string, payload?: unknown, token = admin) =>
    h.request(token, { method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) });
  /** An admin-only read: 200 while `token` opens its key, 401 once refused. */
  const use = async (token: string) => (await api('GET', '/api/v1/access-keys?limit=1', undefined, token)).statusCode;
  const warm = async (token: string) => {
    await settleChanges(h);
    expect(await use(token)).toBe(200);
    expect(await use(token)).toBe(200);
  };
  const createKey = async (body: Record<string, unknown>) => {
    const res = await api('POST', '/api/v1/access-keys', { roles: [{ role: 'global-admin' }], ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; token: string; expiresAt: string; createdAt: string; description: string | null; createdBy: string };
  };
  const roll = (id: string, body: Record<string, unknown> = {}) => api('POST', `/api/v1/access-keys/${id}/roll`, body);
  const setPolicy = (policy: Record<string, unknown>) => api('PUT', '/api/v1/settings/access-key-policy', { ...NO_POLICY, ...policy });

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root', expiration: { days: 730 } })).token;
  });
  afterAll(() => h?.close());

  describe('roll', () => {
    it('issues a new token for the same key; the old one works until the grace period ends, then 401', async () => {
      const key = await createKey({ name: 'rolled', expiration: '7d', description: 'nightly export' });
      await warm(key.token);
      h.clock.advance(DAY);
      const res = await roll(key.id, { graceMinutes: 30 });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const rolled = res.json();
      expect(rolled).toMatchObject({
        id: key.id,
        name: 'rolled',
        roles: [{ role: 'global-admin' }],
        description: 'nightly export',
        createdAt: key.createdAt,
        status: 'active',
      });
      expect(rolled.token).not.toBe(key.token);
      // The preset the key was created with, counted from now.
      expect(Date.parse(rolled.expiresAt)).toBe(Math.floor(h.clock().getTime() / 1000) * 1000 + 7 * DAY);
      expect(rolled.previousTokenExpiresAt).toBe(new Date(h.clock().getTime() + 30 * MINUTE).toISOString());
      expect((await api('GET', `/api/v1/access-keys/${key.id}`)).json().previousTokenExpiresAt).toBe(rolled.previousTokenExpiresAt);

      await warm(rolled.token);
      expect(await use(key.token)).toBe(200);
      // The old token, in its grace, is answered from the caches alone: no signature check, no SQL.
      const before = { ...h.ctx.accessKeyAuth.cacheStats };
      expect(await use(key.token)).toBe(200);
      expect(h.ctx.accessKeyAuth.cacheStats.tokenMisses - before.tokenMisses).toBe(0);
      expect(h.ctx.accessKeyAuth.cacheStats.stateMisses - before.stateMisses).toBe(0);
      // Introspection tells each token's own times: the replaced one ends with its grace.
      const introspect = async (token: string) => (await api('POST', '/api/v1/token/introspect', { token })).json();
      expect(await introspect(key.token)).toMatchObject({
        active: true,
        sub: key.id,
        exp: Date.parse(rolled.previousTokenExpiresAt) / 1000,
        iat: Date.parse(key.createdAt) / 1000,
      });
      expect(await introspect(rolled.token)).toMatchObject({ active: true, exp: Date.parse(rolled.expiresAt) / 1000 });
      h.clock.advance(30 * MINUTE - 1000);
      expect(await use(key.token)).toBe(200);
      h.clock.advance(1000);
      expect(await use(key.token)).toBe(401);
      expect(await use(rolled.token)).toBe(200);
      expect((await api('GET', `/api/v1/access-keys/${key.id}`)).json().previousTokenExpiresAt).toBeNull();

      const [event] = await auditRows(h, { category: 'access-keys', action: 'roll' });
      expect(event).toMatchObject({
        resource_id: key.id,
        detail: { name: 'rolled', expiresAt: rolled.expiresAt, previousTokenExpiresAt: rolled.previousTokenExpiresAt },
      });
      expect(JSON.stringify(await auditRows(h))).not.toContain(rolled.token.split('.')[2]);
    });

    it('a second roll within the grace period ends the first old token at once: at most two tokens live', async () => {
      const key = await createKey({ name: 'rolled-twice' });
      const second = (await roll(key.id)).json();
      await warm(key.token);
      await warm(second.token);
      const third = (await roll(key.id)).json();
      expect(third.previousTokenExpiresAt).toBe(new Date(h.clock().getTime() + 60 * MINUTE).toISOString());
      await settleChanges(h);
      expect(await use(key.token)).toBe(401);
      expect(await use(second.token)).toBe(200);
      expect(await use(third.token)).toBe(200);
    });

    it('without grace ends the old token at once; a grace never outlives the old token', async () => {
      const key = await createKey({ name: 'no-grace', expiration: { days: 3 } });
      await warm(key.token);
      const rolled = (await roll(key.id, { graceMinutes: 0 })).json();
      expect(rolled.previousTokenExpiresAt).toBeNull();
      expect(await use(key.token)).toBe(401);
      expect(await use(rolled.token)).toBe(200);
      // The day count it was created with.
      expect(Date.parse(rolled.expiresAt) - Math.floor(h.clock().getTime() / 1000) * 1000).toBe(3 * DAY);

      h.clock.advance(3 * DAY - 10 * MINUTE);
      const late = (await roll(key.id, { graceMinutes: 120, expiration: '30d' })).json();
      expect(late.previousTokenExpiresAt).toBe(rolled.expiresAt);
      expect(Date.parse(late.expiresAt) - Math.floor(h.clock().getTime() / 1000) * 1000).toBe(30 * DAY);
      h.clock.advance(10 * MINUTE);
      expect(await use(rolled.token)).toBe(401);
      expect(await use(late.token)).toBe(200);
    });

    it('refuses a bad grace period and an unknown key', async () => {
      const key = await createKey({ name: 'roll-bad-input' });
      for (const graceMinutes of [-1, 10_081, 1.5, '60']) {
        const res = await roll(key.id, { graceMinutes });
        expect(res.statusCode).toBe(400);
        expect(res.json().errors[0].pointer).toBe('/graceMinutes');
      }
      expect((await roll(key.id, { expiration: { days: 731 } })).json().errors[0].pointer).toBe('/expiration/days');
      expect((await roll('no-such-key')).statusCode).toBe(404);
      // Every field has a default: no body at all is a roll with the defaults.
      const bare = await h.request(admin, { method: 'POST', url: `/api/v1/access-keys/${key.id}/roll` });
      expect(bare.statusCode, bare.body).toBe(200);
      expect(bare.json().previousTokenExpiresAt).toBe(new Date(h.clock().getTime() + 60 * MINUTE).toISOString());
      expect(await use(key.token)).toBe(200);
    });
  });

  describe('description, createdBy, disable', () => {
    it('keeps a description of at most 500 characters, under the rules of names, and who created the key', async () => {
      const key = await createKey({ name: 'described', description: '  Reads inventory for the 🛰 dashboard  ' });
      expect(key.description).toBe('Reads inventory for the 🛰 dashboard');
      expect(key.createdBy).toBe('key:root');
      expect((await h.ctx.accessKeys.getByName('root')).createdBy).toBe('cli');

      const at500 = (await api('PATCH', `/api/v1/access-keys/${key.id}`, { description: '🛰'.repeat(500) })).json();
      expect(at500.description).toBe('🛰'.repeat(500));
      for (const [description, message] of [
        ['x'.repeat(501), 'at most 500'],
        ['a\u200bb', 'invisible or control'],
        ['line\u0007bell', 'invisible or control'],
      ] as const) {
        const res = await api('PATCH', `/api/v1/access-keys/${key.id}`, { description });
        expect(res.statusCode).toBe(400);
        expect(res.json().errors[0]).toMatchObject({ pointer: '/description' });
        expect(res.json().errors[0].message).toContain(message);
      }
      const nul = await api('POST', '/api/v1/access-keys', { name: 'nul', roles: [{ role: 'global-viewer' }], description: 'a\u0000b' });
      expect(nul.statusCode).toBe(400);
      expect(nul.json().errors[0].pointer).toBe('/description');
      const cleared = (await api('PATCH', `/api/v1/access-keys/${key.id}`, { description: '   ' })).json();
      expect(cleared.description).toBeNull();
      expect((await api('PATCH', `/api/v1/access-keys/${key.id}`, {})).statusCode).toBe(400);
      expect((await api('PATCH', `/api/v1/access-keys/${key.id}`, { name: 'renamed' })).statusCode).toBe(400);
    });

    it('a disabled key answers 401 from the next request and works again once enabled', async () => {
      const key = await createKey({ name: 'switched' });
      await warm(key.token);
      h.clock.advance(1000);
      const disabled = await api('PATCH', `/api/v1/access-keys/${key.id}`, { disabled: true });
      expect(disabled.statusCode).toBe(200);
      expect(disabled.json().status).toBe('disabled');
      expect((await api('POST', '/api/v1/token/introspect', { token: key.token })).json()).toEqual({ active: false });
      expect(await use(key.token)).toBe(401);
      expect(await use(key.token)).toBe(401);
      // Rolling a disabled key does not enable it. (A second apart: the audit log's order.)
      h.clock.advance(1000);
      const rolled = (await roll(key.id, { graceMinutes: 0 })).json();
      expect(rolled.status).toBe('disabled');
      expect(await use(rolled.token)).toBe(401);
      h.clock.advance(1000);
      const enabled = await api('PATCH', `/api/v1/access-keys/${key.id}`, { disabled: false });
      expect(enabled.json().status).toBe('active');
      expect(await use(rolled.token)).toBe(200);
      const events = await auditRows(h, { category: 'access-keys' });
      const mine = events.filter((e) => e.resource_id === key.id).map((e) => [e.action, e.detail['reason']]);
      expect(mine).toEqual([
        ['add', undefined],
        ['disable', 'manual'],
        ['roll', undefined],
        ['enable', undefined],
      ]);
    });

    it('a key disabled by another process (the CLI) is refused from the next request; enabled again, it works', async () => {
      const key = await createKey({ name: 'cli-switched' });
      await warm(key.token);
      const off = await runCli(['keys', 'disable', 'cli-switched'], h.env);
      expect(off.stdout.trim(), off.stderr).toBe('Access key "cli-switched" is disabled.');
      await settleChanges(h);
      expect(await use(key.token)).toBe(401);
      const on = await runCli(['keys', 'enable', 'cli-switched', '--json'], h.env);
      expect(JSON.parse(on.stdout).status).toBe('active');
      await settleChanges(h);
      expect(await use(key.token)).toBe(200);
    });
  });

  describe('lifetime policy', () => {
    afterAll(async () => void (await setPolicy({})));

    it('is read and replaced by a Global Admin only, within TESSERA_MAX_KEY_DAYS', async () => {
      expect((await api('GET', '/api/v1/settings/access-key-policy')).json()).toEqual(NO_POLICY);
      const viewer = (await h.key([{ role: 'global-viewer' }])).token;
      expect((await api('GET', '/api/v1/settings/access-key-policy', undefined, viewer)).statusCode).toBe(403);
      expect((await api('PUT', '/api/v1/settings/access-key-policy', NO_POLICY, viewer)).statusCode).toBe(403);
      const tooLong = await setPolicy({ maxDays: { 'global-admin': 731, 'global-viewer': null, 'cloud-account-viewer': null } });
      expect(tooLong.statusCode).toBe(400);
      expect(tooLong.json().errors[0].pointer).toBe('/maxDays/global-admin');
      expect((await api('PUT', '/api/v1/settings/access-key-policy', { maxDays: NO_POLICY.maxDays })).statusCode).toBe(400);
      const policy = { maxDays: { 'global-admin': 30, 'global-viewer': 365, 'cloud-account-viewer': null }, disableAfterUnusedDays: null, requireDescription: false };
      const put = await setPolicy(policy);
      expect(put.statusCode, put.body).toBe(200);
      expect((await api('GET', '/api/v1/settings/access-key-policy')).json()).toEqual(policy);
      expect((await auditRows(h, { category: 'settings' })).at(-1)?.detail['after']).toEqual(policy);
    });

    it('refuses a create, roll or role edit beyond the smallest limit among the roles, naming the role and the limit', async () => {
      await setPolicy({ maxDays: { 'global-admin': 30, 'global-viewer': 365, 'cloud-account-viewer': null } });
      const refused = await api('POST', '/api/v1/access-keys', { name: 'too-long', roles: [{ role: 'global-viewer' }, { role: 'global-admin' }], expiration: '90d' });
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'policy_violation', role: 'global-admin', maxDays: 30, errors: [{ pointer: '/expiration' }] });
      expect(refused.json().detail).toContain('global-admin');
      expect(refused.json().detail).toContain('30 days');
      await expect(h.ctx.accessKeys.getByName('too-long')).rejects.toMatchObject({ code: 'not_found' });

      const fits = await createKey({ name: 'thirty-days', expiration: '30d' });
      expect((await roll(fits.id, { expiration: '90d' })).json()).toMatchObject({ code: 'policy_violation', role: 'global-admin', maxDays: 30 });
      expect(await use(fits.token)).toBe(200);
      expect((await roll(fits.id)).statusCode).toBe(200);

      const viewer = await createKey({ name: 'viewer-year', roles: [{ role: 'global-viewer' }], expiration: '6mo' });
      const promoted = await api('PATCH', `/api/v1/access-keys/${viewer.id}`, { roles: [{ role: 'global-admin' }] });
      expect(promoted.statusCode).toBe(400);
      expect(promoted.json()).toMatchObject({ code: 'policy_violation', role: 'global-admin', maxDays: 30, errors: [{ pointer: '/roles' }] });
      expect((await api('GET', `/api/v1/access-keys/${viewer.id}`)).json().roles).toEqual([{ role: 'global-viewer' }]);
      // Unlimited roles keep only the hard ceiling.
      expect((await createKey({ name: 'unlimited-role', roles: [{ role: 'cloud-account-viewer', accounts: 'all' }], expiration: '1y' })).token).toMatch(/^eyJ/);
    });

    it('can require a description', async () => {
      await setPolicy({ requireDescription: true });
      const missing = await api('POST', '/api/v1/access-keys', { name: 'undescribed', roles: [{ role: 'global-viewer' }] });
      expect(missing.json()).toMatchObject({ code: 'policy_violation', errors: [{ pointer: '/description' }] });
      const key = await createKey({ name: 'described-by-policy', description: 'why' });
      expect((await api('PATCH', `/api/v1/access-keys/${key.id}`, { description: '' })).json().code).toBe('policy_violation');
    });
  });

  describe('dormancy', () => {
    afterAll(async () => void (await setPolicy({})));

    it('disables keys unused for disableAfterUnusedDays with the reason dormant, once; enabling restarts the count', async () => {
      const idle = await createKey({ name: 'idle' });
      const busy = await createKey({ name: 'busy' });
      const expiring = await createKey({ name: 'short-lived', expiration: '7d' });
      // Nothing happens without a limit.
      h.clock.advance(40 * DAY);
      expect(await h.ctx.scheduler.runNow(DORMANT_KEYS_JOB, { force: true })).toBe('ran');
      expect((await h.ctx.accessKeys.get(idle.id)).status).toBe('active');

      expect((await setPolicy({ disableAfterUnusedDays: 30 })).statusCode).toBe(200);
      // admin (root) and busy are used now; the usage reaches the database with the flush.
      expect(await use(busy.token)).toBe(200);
      await h.ctx.usage.flush();
      h.clock.advance(29 * DAY);
      await h.ctx.scheduler.runNow(DORMANT_KEYS_JOB, { force: true });
      expect((await h.ctx.accessKeys.get(busy.id)).status).toBe('active');
      expect((await h.ctx.accessKeys.get(idle.id)).status).toBe('disabled');
      expect((await h.ctx.accessKeys.get(expiring.id)).status).toBe('expired');
      await settleChanges(h);
      expect(await use(idle.token)).toBe(401);
      const dormant = (await auditRows(h, { action: 'disable' })).filter((e) => e.resource_id === idle.id);
      expect(dormant).toEqual([expect.objectContaining({ actor: 'system', detail: { name: 'idle', reason: 'dormant', unusedDays: 30 } })]);
      // Expired keys are not touched.
      expect((await auditRows(h, { action: 'disable' })).some((e) => e.resource_id === expiring.id)).toBe(false);

      expect((await api('PATCH', `/api/v1/access-keys/${idle.id}`, { disabled: false })).json().status).toBe('active');
      await h.ctx.scheduler.runNow(DORMANT_KEYS_JOB, { force: true });
      expect((await h.ctx.accessKeys.get(idle.id)).status).toBe('active');
      expect(await use(idle.token)).toBe(200);
      h.clock.advance(2 * DAY);
      await h.ctx.scheduler.runNow(DORMANT_KEYS_JOB, { force: true });
      expect((await h.ctx.accessKeys.get(busy.id)).status).toBe('disabled');
      expect((await auditRows(h, { action: 'disable' })).filter((e) => e.resource_id === idle.id)).toHaveLength(1);
    });
  });
});

/**
 * Disabling and rolling without grace reduce access: answered only once every live instance
 * applied them, so the next request to the other instance, whose caches held the key, is refused.
 */
describe.runIf(DIALECTS.includes('postgres'))('disable and roll across two instances on one PostgreSQL', () => {
  const two = useTwoInstances('lifecycle-admin');

  it('a key disabled on A is refused by B on the next request, and accepted again once enabled', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const key = await createAdminKeyOn(two.a, two.admin, `switched-${trial}`);
      expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(200);
      expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(200);
      const off = await call(two.a.url, 'PATCH', `/api/v1/access-keys/${key.id}`, two.admin, { disabled: true });
      expect(off.status).toBe(200);
      expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(401);
      const on = await call(two.a.url, 'PATCH', `/api/v1/access-keys/${key.id}`, two.admin, { disabled: false });
      expect(on.status).toBe(200);
      expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(200);
    }
  });

  it('a roll without grace on A ends the old token on B at once; with grace both work on B', async () => {
    const key = await createAdminKeyOn(two.a, two.admin, 'rolled-across');
    expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(200);
    expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(200);
    const graced = await call(two.a.url, 'POST', `/api/v1/access-keys/${key.id}/roll`, two.admin, { graceMinutes: 10 });
    expect(graced.status).toBe(200);
    const second = graced.json<{ token: string }>().token;
    expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(200);
    expect((await readKeyOn(two.b, second, key.id)).status).toBe(200);
    const cut = await call(two.a.url, 'POST', `/api/v1/access-keys/${key.id}/roll`, two.admin, { graceMinutes: 0 });
    expect(cut.status).toBe(200);
    expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(401);
    expect((await readKeyOn(two.b, second, key.id)).status).toBe(401);
    expect((await readKeyOn(two.b, cut.json<{ token: string }>().token, key.id)).status).toBe(200);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('the dormancy job with two instances on one PostgreSQL', () => {
  it('runs once in the cluster: each dormant key is disabled once, by one of them', async () => {
    const first = await createHarness('postgres');
    const second = await createHarness('postgres', { env: { DATABASE_URL: first.env['DATABASE_URL'] as string }, clock: first.clock });
    try {
      const idle = await Promise.all([0, 1, 2].map((i) => first.key([{ role: 'global-viewer' }], { name: `idle-${i}` })));
      await first.ctx.accessKeys.setPolicy({ name: 'test', ip: null }, { ...NO_POLICY, disableAfterUnusedDays: 10 });
      first.clock.advance(11 * DAY);
      const outcomes = await Promise.all([first.ctx.scheduler.runNow(DORMANT_KEYS_JOB), second.ctx.scheduler.runNow(DORMANT_KEYS_JOB)]);
      expect(outcomes.filter((o) => o === 'ran')).toHaveLength(1);
      expect(outcomes.filter((o) => o !== 'ran')[0]).toMatch(/^(busy|recent)$/);
      // Within the interval, neither runs it again.
      expect(await second.ctx.scheduler.runNow(DORMANT_KEYS_JOB)).toBe('recent');
      const disabled = await auditRows(first, { action: 'disable' });
      expect(disabled.map((e) => e.resource_id).sort()).toEqual(idle.map((k) => k.id).sort());
      await settleChanges(second);
      for (const key of idle) expect((await second.request(key.token, { method: 'GET', url: '/api/v1/cloud-accounts' })).statusCode).toBe(401);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
