import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_ACCOUNTS } from '../src/auth/permissions.ts';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { createContext, type Context } from '../src/context.ts';
import type { ChangeBus } from '../src/changes/change-bus.ts';
import { ReadCache } from '../src/db/read-cache.ts';
import { createLogger } from '../src/http/logging.ts';
import { DIALECTS } from './helpers/databases.ts';
import { settleChanges } from './helpers/feed.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount, externalIdFor } from './helpers/inventory.ts';

// Pages of the cloud-accounts list are kept as sent until an account changes. These tests guard
// that a cached page is never stale after a change (from this process or another) and never
// answers one account scope with another's.
describe.each(DIALECTS)('cloud-account page cache (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let other: Context;

  const list = async (token: string, query = ''): Promise<Array<{ id: string; displayName: string }>> => {
    const res = await h.request(token, { method: 'GET', url: `/api/v1/cloud-accounts${query}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    return (res.json() as { items: Array<{ id: string; displayName: string }> }).items;
  };
  const ids = async (token: string, query = '') => (await list(token, query)).map((a) => a.id).sort();

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
    other = await createContext(h.config, createLogger(h.config), { clock: h.clock, listen: false });
  });
  afterAll(async () => {
    await other?.close();
    await h?.close();
  });

  it('answers a repeated page from the cache, the same as the first answer', async () => {
    await addAccount(h, 'aws', 'Page one');
    await settleChanges(h);
    const first = await list(admin);
    const before = { ...h.ctx.cloudAccountPages.stats };
    expect(await list(admin)).toEqual(first);
    expect(h.ctx.cloudAccountPages.stats.hits - before.hits).toBe(1);
    expect(h.ctx.cloudAccountPages.stats.misses - before.misses).toBe(0);
  });

  it('shows an account added, edited and deleted through the API on the next list', async () => {
    await list(admin);
    const created = await h.request(admin, {
      method: 'POST',
      url: '/api/v1/cloud-accounts',
      payload: { vendor: 'gcp', displayName: 'Fresh', externalId: externalIdFor('gcp') },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect((await list(admin)).find((a) => a.id === id)?.displayName).toBe('Fresh');
    const edited = await h.request(admin, { method: 'PATCH', url: `/api/v1/cloud-accounts/${id}`, payload: { displayName: 'Renamed' } });
    expect(edited.statusCode).toBe(200);
    expect((await list(admin)).find((a) => a.id === id)?.displayName).toBe('Renamed');
    expect((await h.request(admin, { method: 'DELETE', url: `/api/v1/cloud-accounts/${id}` })).statusCode).toBe(204);
    expect(await ids(admin)).not.toContain(id);
  });

  it('shows an account added, edited and deleted by another process on the next list', async () => {
    await list(admin);
    const account = await other.cloudAccounts.create(CLI_ACTOR, { vendor: 'aws', displayName: 'From elsewhere', externalId: externalIdFor('aws') });
    await settleChanges(h);
    expect((await list(admin)).find((a) => a.id === account.id)?.displayName).toBe('From elsewhere');
    await other.cloudAccounts.edit(CLI_ACTOR, ALL_ACCOUNTS, account.id, { displayName: 'Edited elsewhere' });
    await settleChanges(h);
    expect((await list(admin)).find((a) => a.id === account.id)?.displayName).toBe('Edited elsewhere');
    await other.cloudAccounts.remove(CLI_ACTOR, ALL_ACCOUNTS, account.id);
    await settleChanges(h);
    expect(await ids(admin)).not.toContain(account.id);
  });

  it("never answers one account scope, page size or filter with another's page", async () => {
    const a = await addAccount(h, 'aws', 'Scope A');
    const b = await addAccount(h, 'azure', 'Scope B');
    await settleChanges(h);
    const everything = (await h.request(admin, { method: 'GET', url: '/api/v1/cloud-accounts?limit=200' })).json().items as Array<{ id: string; vendor: string }>;
    const all = everything.map((acc) => acc.id).sort();
    const azure = everything
      .filter((acc) => acc.vendor === 'azure')
      .map((acc) => acc.id)
      .sort();
    expect(all).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(azure).toContain(b.id);
    const viewerA = (await h.key([{ role: 'cloud-account-viewer', accounts: [a.id] }])).token;
    const viewerB = (await h.key([{ role: 'cloud-account-viewer', accounts: [b.id] }])).token;
    const viewerAll = (await h.key([{ role: 'global-viewer' }])).token;
    // Twice: the second pass is answered from the cache filled by the first.
    for (let pass = 0; pass < 2; pass++) {
      expect(await ids(admin, '?limit=200')).toEqual(all);
      expect(await ids(viewerA)).toEqual([a.id]);
      expect(await ids(viewerB)).toEqual([b.id]);
      expect(await ids(viewerAll, '?limit=200')).toEqual(all);
      expect(await ids(admin, '?vendor=azure&limit=200')).toEqual(azure);
      expect(await ids(viewerA, '?vendor=azure')).toEqual([]);
      expect(await list(admin, '?limit=1')).toHaveLength(1);
    }
  });
});

describe('ReadCache', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(() => h.close());

  /** The harness's bus, as a cache sees it, but live or not as the test says. */
  const bus = (live: boolean): Pick<ChangeBus, 'live' | 'subscribe'> => ({ live, subscribe: (kinds, listener) => h.ctx.changes.subscribe(kinds, listener) });

  it('does not keep a read that raced a change', async () => {
    const cache = new ReadCache<string>(bus(true), ['cloud-account'], 4);
    let release = () => {};
    const slow = cache.get('k', () => new Promise<string>((resolve) => (release = () => resolve('before the change'))));
    h.ctx.changes.publish({ kind: 'cloud-account', id: 'x' });
    release();
    expect(await slow).toBe('before the change');
    expect(await cache.get('k', async () => 'after the change')).toBe('after the change');
    expect(await cache.get('k', async () => 'not read')).toBe('after the change');
    cache.close();
  });

  it('drops its entries on a change of its kinds or of everything, and keeps them on others', async () => {
    const cache = new ReadCache<string>(bus(true), ['cloud-account'], 4);
    let reads = 0;
    const read = () => cache.get('k', async () => `read ${++reads}`);
    expect(await read()).toBe('read 1');
    h.ctx.changes.publish({ kind: 'access-key', id: 'x' });
    expect(await read()).toBe('read 1');
    h.ctx.changes.publish({ kind: 'cloud-account', id: 'x' });
    expect(await read()).toBe('read 2');
    h.ctx.changes.publish({ kind: 'any', id: '*' });
    expect(await read()).toBe('read 3');
    cache.close();
    h.ctx.changes.publish({ kind: 'cloud-account', id: 'x' });
  });

  it('reads afresh every time while the change feed is not live', async () => {
    const cache = new ReadCache<string>(bus(false), ['cloud-account'], 4);
    let reads = 0;
    for (let i = 1; i <= 3; i++) expect(await cache.get('k', async () => `read ${++reads}`)).toBe(`read ${i}`);
    cache.close();
  });
});
