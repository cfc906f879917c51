import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { KeyActivity } from '../src/usage/key-activity.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount, vm } from './helpers/inventory.ts';

const HOUR = 60 * 60 * 1000;

describe.each(DIALECTS)('what each key did (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let accountA: string;
  let accountB: string;
  let accountC: string;
  let assetOfB: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'admin' })).token;
    accountA = (await addAccount(h, 'aws', 'Alpha')).id;
    accountB = (await addAccount(h, 'gcp', 'Bravo')).id;
    accountC = (await addAccount(h, 'azure', 'Charlie')).id;
    await h.ctx.assets.replace({ name: 'cli', ip: null }, { all: true }, accountB, [vm('vm-b1')]);
    assetOfB = (await h.request(admin, { method: 'GET', url: `/api/v1/assets?accountId=${accountB}` })).json().items[0].id;
  });
  afterAll(() => h.close());

  const get = (path: string) => h.request(admin, { method: 'GET', url: path });
  const activity = async (id: string) => {
    await h.ctx.activity.flush();
    const res = await get(`/api/v1/access-keys/${id}/activity`);
    expect(res.statusCode).toBe(200);
    return res.json() as { items: Record<string, unknown>[]; since: string };
  };

  it('groups requests by route template (never the URL), status, address, account and hour, the latest first', async () => {
    const key = await h.key([{ role: 'global-admin' }]);
    const call = async (url: string, ip: string) => {
      h.clock.advance(1000); // every sighting at its own second, so the order is the time's
      return h.request(key.token, { method: 'GET', url, remoteAddress: ip });
    };
    h.clock.set(new Date('2026-11-27T12:00:00.000Z'));
    expect((await call(`/api/v1/cloud-accounts/${accountA}`, '10.0.0.1')).statusCode).toBe(200); // 12:00:01
    expect((await call(`/api/v1/cloud-accounts/${accountA}`, '10.0.0.1')).statusCode).toBe(200); // 12:00:02
    expect((await call(`/api/v1/cloud-accounts/${accountB}`, '10.0.0.1')).statusCode).toBe(200); // 12:00:03
    expect((await call('/api/v1/cloud-accounts/nope', '10.0.0.2')).statusCode).toBe(404); // 12:00:04
    expect((await call(`/api/v1/assets/${assetOfB}`, '10.0.0.2')).statusCode).toBe(200); // 12:00:05
    h.clock.advance(HOUR);
    expect((await call(`/api/v1/cloud-accounts/${accountA}`, '10.0.0.1')).statusCode).toBe(200); // 13:00:06
    expect((await call('/api/v1/reports/summary', '2001:db8::5')).statusCode).toBe(200); // 13:00:07

    const { items, since } = await activity(key.id);
    expect(since).toBe('2026-10-28T13:00:00.000Z');
    const at = (time: string) => `2026-11-27T${time}.000Z`;
    expect(items).toEqual([
      { method: 'GET', route: '/api/v1/reports/summary', status: 200, ip: '2001:db8::5', count: 1, firstSeen: at('13:00:07'), lastSeen: at('13:00:07') },
      {
        method: 'GET',
        route: '/api/v1/cloud-accounts/{id}',
        status: 200,
        ip: '10.0.0.1',
        accountId: accountA,
        count: 1,
        firstSeen: at('13:00:06'),
        lastSeen: at('13:00:06'),
      },
      { method: 'GET', route: '/api/v1/assets/{id}', status: 200, ip: '10.0.0.2', accountId: accountB, count: 1, firstSeen: at('12:00:05'), lastSeen: at('12:00:05') },
      // A failed request is filed without the account it named (it may not exist).
      {
        method: 'GET',
        route: '/api/v1/cloud-accounts/{id}',
        status: 404,
        ip: '10.0.0.2',
        count: 1,
        firstSeen: at('12:00:04'),
        lastSeen: at('12:00:04'),
      },
      {
        method: 'GET',
        route: '/api/v1/cloud-accounts/{id}',
        status: 200,
        ip: '10.0.0.1',
        accountId: accountB,
        count: 1,
        firstSeen: at('12:00:03'),
        lastSeen: at('12:00:03'),
      },
      {
        method: 'GET',
        route: '/api/v1/cloud-accounts/{id}',
        status: 200,
        ip: '10.0.0.1',
        accountId: accountA,
        count: 2,
        firstSeen: at('12:00:01'),
        lastSeen: at('12:00:02'),
      },
    ]);
  });

  it('files a request refused for lack of scope under its key, and nothing for a refused token or a user', async () => {
    const key = await h.key([{ role: 'cloud-account-viewer', accounts: [accountA] }]);
    expect((await h.request(key.token, { method: 'GET', url: '/api/v1/users', remoteAddress: '10.0.0.3' })).statusCode).toBe(403);
    expect((await h.request(`${key.token}x`, { method: 'GET', url: '/api/v1/assets' })).statusCode).toBe(401);
    expect((await h.request(key.token, { method: 'GET', url: `/api/v1/assets?accountId=${accountA}`, remoteAddress: '10.0.0.3' })).statusCode).toBe(200);
    const { items } = await activity(key.id);
    expect(items.map((i) => [i.method, i.route, i.status, i.accountId])).toEqual(
      expect.arrayContaining([
        ['GET', '/api/v1/users', 403, undefined],
        ['GET', '/api/v1/assets', 200, accountA],
      ]),
    );
    expect(items).toHaveLength(2);
  });

  it('advises the smallest roles: a Global Admin that only read two accounts becomes their Cloud Account Viewer', async () => {
    const key = await h.key([{ role: 'global-admin' }]);
    const call = (method: 'GET' | 'POST', url: string) => h.request(key.token, { method, url });
    expect((await call('GET', `/api/v1/cloud-accounts/${accountA}`)).statusCode).toBe(200);
    expect((await call('GET', `/api/v1/assets/${assetOfB}`)).statusCode).toBe(200);
    expect((await call('GET', `/api/v1/assets/${assetOfB}/network`)).statusCode).toBe(200);
    expect((await call('GET', '/api/v1/assets')).statusCode).toBe(200);
    expect((await call('GET', '/api/v1/cloud-accounts/missing')).statusCode).toBe(404); // failed: not a need
    await h.ctx.activity.flush();
    const advice = await get(`/api/v1/access-keys/${key.id}/advice`);
    expect(advice.statusCode).toBe(200);
    expect(advice.json()).toEqual({
      suggestedRoles: [{ role: 'cloud-account-viewer', accounts: [accountA, accountB].sort() }],
      basis: { days: 30, requests: 4 },
    });
    const dry = (roles: unknown) => h.request(admin, { method: 'POST', url: `/api/v1/access-keys/${key.id}/dry-run`, payload: { roles } });
    // The advice itself refuses nothing.
    expect((await dry(advice.json().suggestedRoles)).json()).toEqual({ wouldDeny: [] });
    // One account less: its requests would have been refused (a 404 for a viewer of the other).
    expect((await dry([{ role: 'cloud-account-viewer', accounts: [accountA] }])).json()).toEqual({
      wouldDeny: [
        { method: 'GET', route: '/api/v1/assets/{id}', accountId: accountB, count: 1 },
        { method: 'GET', route: '/api/v1/assets/{id}/network', accountId: accountB, count: 1 },
      ],
    });
    expect((await dry([{ role: 'global-viewer' }])).json()).toEqual({ wouldDeny: [] });
  });

  it('advises Global Viewer for reads beyond accounts, Global Admin for writes, and nothing without activity', async () => {
    const reader = await h.key([{ role: 'global-admin' }]);
    expect((await h.request(reader.token, { method: 'GET', url: '/api/v1/credentials' })).statusCode).toBe(200);
    expect((await h.request(reader.token, { method: 'GET', url: `/api/v1/cloud-accounts/${accountC}` })).statusCode).toBe(200);
    const writer = await h.key([{ role: 'global-admin' }]);
    const edited = await h.request(writer.token, { method: 'PATCH', url: `/api/v1/cloud-accounts/${accountC}`, payload: { displayName: 'Charlie 2' } });
    expect(edited.statusCode).toBe(200);
    const idle = await h.key([{ role: 'global-admin' }]);
    await h.ctx.activity.flush();
    const adviceOf = async (id: string) => (await get(`/api/v1/access-keys/${id}/advice`)).json();
    expect((await adviceOf(reader.id)).suggestedRoles).toEqual([{ role: 'global-viewer' }]);
    expect((await adviceOf(writer.id)).suggestedRoles).toEqual([{ role: 'global-admin' }]);
    expect(await adviceOf(idle.id)).toEqual({ suggestedRoles: [], basis: { days: 30, requests: 0 } });
    const dry = await h.request(admin, { method: 'POST', url: `/api/v1/access-keys/${writer.id}/dry-run`, payload: { roles: [{ role: 'global-viewer' }] } });
    expect(dry.json()).toEqual({ wouldDeny: [{ method: 'PATCH', route: '/api/v1/cloud-accounts/{id}', accountId: accountC, count: 1 }] });
  });

  it('refuses bad input and unknown keys, and is for Global Admins only', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    const dry = (payload: unknown, id = key.id) => h.request(admin, { method: 'POST', url: `/api/v1/access-keys/${id}/dry-run`, payload: payload as object });
    const noRoles = await dry({ roles: [] });
    expect(noRoles.statusCode).toBe(400);
    expect(noRoles.json().code).toBe('validation_failed');
    expect(JSON.stringify(noRoles.json())).toContain('/roles');
    const badRole = await dry({ roles: [{ role: 'owner' }] });
    expect(badRole.statusCode).toBe(400);
    expect((await dry({ roles: [{ role: 'global-viewer' }], extra: 1 })).statusCode).toBe(400);
    const unknownAccount = await dry({ roles: [{ role: 'cloud-account-viewer', accounts: ['no-such-account'] }] });
    expect(unknownAccount.statusCode).toBe(400);
    expect(unknownAccount.json().code).toBe('unknown_accounts');
    const missing = '00000000-0000-7000-8000-000000000000';
    expect((await dry({ roles: [{ role: 'global-viewer' }] }, missing)).statusCode).toBe(404);
    for (const path of ['activity', 'advice']) {
      expect((await get(`/api/v1/access-keys/${missing}/${path}`)).statusCode).toBe(404);
      const viewer = await h.request(key.token, { method: 'GET', url: `/api/v1/access-keys/${key.id}/${path}` });
      expect(viewer.statusCode).toBe(403);
      expect(viewer.json().code).toBe('insufficient_scope');
    }
  });

  it('two instances on one database add up what each served', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    // A second instance: its own context, connections and app, on the same database.
    const other = await createContext(h.config, createLogger(h.config), { clock: h.clock });
    const otherApp = await buildApp(other, { logRequests: false });
    try {
      const via = (app: typeof otherApp) =>
        app.inject({ method: 'GET', url: '/api/v1/assets', headers: { authorization: `Bearer ${key.token}` }, remoteAddress: '10.7.7.7' });
      for (let i = 0; i < 3; i++) expect((await via(h.app)).statusCode).toBe(200);
      for (let i = 0; i < 2; i++) expect((await via(otherApp)).statusCode).toBe(200);
      await Promise.all([h.ctx.activity.flush(), other.activity.flush()]);
      expect((await activity(key.id)).items).toEqual([expect.objectContaining({ route: '/api/v1/assets', ip: '10.7.7.7', status: 200, count: 5 })]);
    } finally {
      await otherApp.close();
      await other.close();
    }
  });

  it('instances add up, a failed flush keeps its counts, and the retention sweep prunes old hours and removed keys', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    const gone = await h.key([{ role: 'global-viewer' }]);
    const log = pino({ level: 'silent' });
    const a = new KeyActivity(h.ctx.storage.db, h.ctx.storage.dialect, log, h.clock, 30);
    const b = new KeyActivity(h.ctx.storage.db, h.ctx.storage.dialect, log, h.clock, 30);
    const at = h.clock().getTime();
    const request = { keyId: key.id, method: 'GET', route: '/api/v1/assets', status: 200, ip: '10.9.9.9', accountId: undefined };
    for (let i = 0; i < 5; i++) a.record(request, new Date(at + i * 10));
    for (let i = 0; i < 3; i++) b.record(request, new Date(at - 5 + i));
    a.record({ ...request, keyId: gone.id }, new Date(at));
    await Promise.all([a.flush(), b.flush()]);
    await Promise.all([a.flush(), b.flush()]); // nothing pending: nothing changes
    const { items } = await activity(key.id);
    expect(items).toEqual([
      {
        method: 'GET',
        route: '/api/v1/assets',
        status: 200,
        ip: '10.9.9.9',
        count: 8,
        firstSeen: new Date(at - 5).toISOString(),
        lastSeen: new Date(at + 40).toISOString(),
      },
    ]);

    // Past the window: pruned, with the activity of a removed key.
    await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${gone.id}` });
    h.clock.advance(31 * 24 * HOUR);
    a.record(request, h.clock());
    await a.flush();
    const countRows = async (id: string) =>
      Number(
        (
          await h.ctx.storage.db
            .selectFrom('access_key_activity')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('key_id', '=', id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await countRows(key.id)).toBe(2);
    expect(await countRows(gone.id)).toBe(1);
    expect(await h.ctx.scheduler.runNow('key-activity-retention', { force: true })).toBe('ran');
    // A cluster job: on PostgreSQL, once per interval however many instances tick.
    expect(await h.ctx.scheduler.runNow('key-activity-retention')).toBe(dialect === 'postgres' ? 'recent' : 'ran');
    expect(await countRows(key.id)).toBe(1);
    expect(await countRows(gone.id)).toBe(0);
    expect((await activity(key.id)).items.map((i) => i.count)).toEqual([1]);
  });
});

describe('key activity settings', () => {
  it('TESSERA_KEY_ACTIVITY_DAYS defaults to 30 and refuses what is not a day count in range', () => {
    const env = { TESSERA_SECRET: 'x'.repeat(40), TESSERA_DATA_DIR: '/tmp/tessera-activity-config' };
    expect(loadConfig(env).keyActivityDays).toBe(30);
    expect(loadConfig({ ...env, TESSERA_KEY_ACTIVITY_DAYS: '7' }).keyActivityDays).toBe(7);
    for (const bad of ['0', '-1', '3.5', 'month', '400']) {
      expect(() => loadConfig({ ...env, TESSERA_KEY_ACTIVITY_DAYS: bad })).toThrow(/TESSERA_KEY_ACTIVITY_DAYS/);
    }
  });
});

describe('a failed activity flush keeps its counts', () => {
  it('retries them on the next flush', async () => {
    const h = await createHarness('sqlite');
    try {
      const key = await h.key([{ role: 'global-viewer' }]);
      const activity = new KeyActivity(h.ctx.storage.db, 'sqlite', pino({ level: 'silent' }), h.clock, 30);
      const request = { keyId: key.id, method: 'GET', route: '/api/v1/assets', status: 200, ip: '10.0.0.1', accountId: undefined };
      activity.record(request, h.clock());
      h.ctx.storage.sqlite?.exec('alter table access_key_activity rename to access_key_activity_away');
      await expect(activity.flush()).rejects.toThrow();
      expect(activity.pendingGroups).toBe(1);
      activity.record(request, h.clock());
      h.ctx.storage.sqlite?.exec('alter table access_key_activity_away rename to access_key_activity');
      await activity.flush();
      expect(activity.pendingGroups).toBe(0);
      expect((await activity.list(key.id)).map((g) => g.count)).toEqual([2]);
    } finally {
      await h.close();
    }
  });
});
