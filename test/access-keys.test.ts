import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexAccessKeyNames } from '../src/access-keys/access-key.repository.ts';
import { grantsToRows, roleSetOf } from '../src/auth/grants.ts';
import { mergeGrants, ROLE_TITLES, type Grant } from '../src/auth/permissions.ts';
import type { NewAccessKeyRow } from '../src/db/schema.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const DAY = 24 * 60 * 60 * 1000;

describe.each(DIALECTS)('access keys API (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let accountId: string;

  /** What the list sorts bulk-inserted rows by, per sort (then by id). */
  type BulkRow = { id: string; name_key: string; roles: string; created_at: string; expires_at: string; last_used_at: string | null };
  const SORT_VALUE: Record<string, (r: BulkRow) => string> = {
    createdAt: (r) => r.created_at,
    name: (r) => r.name_key,
    expiresAt: (r) => r.expires_at,
    lastUsedAt: (r) => r.last_used_at ?? '',
    // The merged roles' titles in order, compared role by role, a shorter list first.
    role: (r) =>
      mergeGrants(JSON.parse(r.roles) as Grant[])
        .map((g) => ROLE_TITLES[g.role])
        .join('\u0000'),
  };
  /** The ids of `rows` in the list's order for `sort` and `order`. */
  const inListOrder = (rows: readonly BulkRow[], sort: string, order: string): string[] => {
    const cmp = (a: BulkRow, b: BulkRow) => {
      const x = SORT_VALUE[sort]!(a);
      const y = SORT_VALUE[sort]!(b);
      return x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    };
    return [...rows].sort((a, b) => (order === 'asc' ? cmp(a, b) : cmp(b, a))).map((r) => r.id);
  };
  /** Every item of a list query, following `nextCursor` to the end. */
  const allPages = async <T>(url: string): Promise<T[]> => {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.request(admin, { method: 'GET', url: `${url}${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.statusCode, url).toBe(200);
      items.push(...res.json().items);
      cursor = res.json().nextCursor;
    } while (cursor !== null);
    return items;
  };

  /**
   * Keys written straight to the database as the API stores them: rows with their role set,
   * their grants, and on SQLite their names in the trigram table.
   */
  const insertKeyRows = async (rows: Array<Omit<NewAccessKeyRow, 'role_set'> & { roles: string }>) => {
    const keyRows = rows.map(({ roles, ...row }) => ({ ...row, role_set: roleSetOf(mergeGrants(JSON.parse(roles) as Grant[])) }));
    const grantRows = rows.flatMap((row) =>
      grantsToRows(row.id, mergeGrants(JSON.parse(row.roles) as Grant[])).map(({ holder_id, ...grant }) => ({ key_id: holder_id, ...grant })),
    );
    for (let i = 0; i < rows.length; i += 200) {
      await h.ctx.storage.db
        .insertInto('access_keys')
        .values(keyRows.slice(i, i + 200))
        .execute();
    }
    for (let i = 0; i < grantRows.length; i += 200) {
      await h.ctx.storage.db
        .insertInto('access_key_grants')
        .values(grantRows.slice(i, i + 200))
        .execute();
    }
    await indexAccessKeyNames(h.ctx.storage.db, rows);
  };

  const post = (payload: unknown, token = admin) => h.request(token, { method: 'POST', url: '/api/v1/access-keys', payload: payload as object });

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root', expiration: { days: 730 } })).token;
    accountId = 'acc-1';
    await h.ctx.storage.db
      .insertInto('cloud_accounts')
      .values({
        id: accountId,
        vendor: 'aws',
        display_name: 'Prod',
        external_id: '123456789012',
        status: 'connected',
        status_detail: null,
        credential_id: null,
        created_at: new Date().toISOString(),
      })
      .execute();
  });
  afterAll(() => h.close());

  it('creates a key (201) whose token works at once, is returned once, and never appears in a list', async () => {
    const created = await post({ name: 'ci-bot', roles: [{ role: 'global-admin' }] });
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const body = created.json();
    expect(Object.keys(body).sort()).toEqual([
      'allowedCidrs',
      'createdAt',
      'createdBy',
      'description',
      'expiresAt',
      'id',
      'lastUsedAt',
      'lastUsedIp',
      'name',
      'previousTokenExpiresAt',
      'rateLimit',
      'roles',
      'status',
      'token',
      'useCount',
    ]);
    expect(body).toMatchObject({ name: 'ci-bot', roles: [{ role: 'global-admin' }], status: 'active', lastUsedAt: null });

    const withNewKey = await h.request(body.token, { method: 'GET', url: '/api/v1/access-keys?limit=200' });
    expect(withNewKey.statusCode).toBe(200);
    expect(withNewKey.body).not.toContain(body.token);
    expect(withNewKey.body).not.toContain('token');
    const one = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys/${body.id}` });
    expect(one.statusCode).toBe(200);
    expect(one.json()).not.toHaveProperty('token');
    expect(one.json().name).toBe('ci-bot');
  });

  it('lists newest first with cursor pagination over every key exactly once', async () => {
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      names.push((await h.key([{ role: 'global-viewer' }], { name: `page-${i}` })).name);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?limit=2${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((k: { name: string }) => k.name));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen.slice(0, 5)).toEqual([...names].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    const bad = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?cursor=garbage' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
  });

  it('filters and sorts the list', async () => {
    await h.key([{ role: 'cloud-account-viewer', accounts: 'all' }], { name: 'Filter-Target' });
    const byName = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?name=filter-t' });
    expect(byName.json().items.map((k: { name: string }) => k.name)).toEqual(['Filter-Target']);
    const byRole = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?role=cloud-account-viewer&limit=200' });
    expect(byRole.json().items.every((k: { roles: { role: string }[] }) => k.roles.some((r) => r.role === 'cloud-account-viewer'))).toBe(true);
    expect(byRole.json().items.length).toBeGreaterThan(0);
    const sorted = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?sort=name&order=asc&limit=200' });
    const sortedNames = sorted.json().items.map((k: { name: string }) => k.name.toLowerCase());
    expect(sortedNames).toEqual([...sortedNames].sort());
    // By role: the first (merged) role by title, Cloud Account Viewer < Global Admin < Global Viewer, through every page.
    const ROLE_RANK: Record<string, number> = { 'cloud-account-viewer': 0, 'global-admin': 1, 'global-viewer': 2 };
    const ranks: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?sort=role&order=asc&limit=3${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.statusCode).toBe(200);
      ranks.push(...res.json().items.map((k: { roles: { role: string }[] }) => ROLE_RANK[k.roles[0]!.role]!));
      cursor = res.json().nextCursor;
    } while (cursor !== null);
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    expect(new Set(ranks).size).toBe(3);
    const badSort = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?sort=token' });
    expect(badSort.statusCode).toBe(400);
  });

  it('sorted by role, a role filter finds every key holding the role, whatever role comes first in its grants', async () => {
    const tag = 'rolesort';
    const combos: Grant[][] = [
      [{ role: 'global-admin' }],
      [{ role: 'global-viewer' }],
      [{ role: 'cloud-account-viewer', accounts: 'all' }],
      [{ role: 'cloud-account-viewer', accounts: [accountId] }],
      [{ role: 'global-viewer' }, { role: 'global-admin' }],
      [{ role: 'cloud-account-viewer', accounts: 'all' }, { role: 'global-admin' }],
      [{ role: 'cloud-account-viewer', accounts: [accountId] }, { role: 'global-viewer' }],
      [{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: 'all' }, { role: 'global-admin' }],
    ];
    const made: BulkRow[] = [];
    for (const [i, roles] of combos.entries()) {
      for (let copy = 0; copy < 2; copy++) {
        const res = await post({ name: `${tag}-${i}-${copy}`, roles });
        expect(res.statusCode).toBe(201);
        const key = res.json();
        made.push({ id: key.id, name_key: key.name, roles: JSON.stringify(key.roles), created_at: key.createdAt, expires_at: key.expiresAt, last_used_at: null });
      }
    }
    for (const role of ['global-admin', 'global-viewer', 'cloud-account-viewer']) {
      for (const order of ['asc', 'desc']) {
        const seen = await allPages<{ id: string }>(`/api/v1/access-keys?sort=role&order=${order}&limit=3&role=${role}&name=${tag}`);
        const holders = made.filter((k) => k.roles.includes(`"role":"${role}"`));
        expect(
          seen.map((k) => k.id),
          `${role} ${order}`,
        ).toEqual(inListOrder(holders, 'role', order));
        // Without the name filter too: the walk over every key of the suite.
        const all = await allPages<{ id: string; roles: Grant[] }>(`/api/v1/access-keys?sort=role&order=${order}&limit=50&role=${role}`);
        expect(
          all.filter((k) => made.some((m) => m.id === k.id)).map((k) => k.id),
          `${role} ${order}, no name`,
        ).toEqual(inListOrder(holders, 'role', order));
        expect(all.every((k) => k.roles.some((g) => g.role === role))).toBe(true);
      }
    }
  });

  describe('the name filter (a case-insensitive substring, its text taken literally)', () => {
    const names = (res: { json(): { items: { name: string }[] } }) =>
      res
        .json()
        .items.map((k) => k.name)
        .sort();
    const byName = async (text: string, extra = '') => {
      const res = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?limit=200&name=${encodeURIComponent(text)}${extra}` });
      expect(res.statusCode, text).toBe(200);
      return names(res);
    };
    const made: Record<string, string> = {};

    beforeAll(async () => {
      for (const name of [
        'Alpha-Zqdeploy-One',
        'beta-zqdeploy-two',
        'zq 100% sure',
        'zq under_score',
        'zq underXscore',
        'zq star*q?[x]',
        'zq back\\slash',
        'Ünïcode-Zqkey',
        'qz',
      ]) {
        made[name] = (await h.key([{ role: 'global-viewer' }], { name })).id;
      }
    });

    it('finds a substring anywhere in the name, in any case', async () => {
      expect(await byName('zqdeploy')).toEqual(['Alpha-Zqdeploy-One', 'beta-zqdeploy-two']);
      expect(await byName('ZQDEPLOY-T')).toEqual(['beta-zqdeploy-two']);
      expect(await byName('deploy-one')).toEqual(['Alpha-Zqdeploy-One']);
      expect(await byName('ünïcode-zq')).toEqual(['Ünïcode-Zqkey']);
      expect(await byName('ÜNÏCODE')).toEqual(['Ünïcode-Zqkey']);
      expect(await byName('zqdeploy-none')).toEqual([]);
    });

    it('serves filters of 1 and 2 characters', async () => {
      expect(await byName('qz')).toEqual(['qz']);
      expect(await byName('Z')).toEqual(expect.arrayContaining(['qz', 'zq 100% sure', 'Ünïcode-Zqkey']));
      expect((await byName('z')).every((n) => n.toLowerCase().includes('z'))).toBe(true);
      expect(await byName('%')).toEqual(['zq 100% sure']);
    });

    it('takes %, _, \\ and glob characters literally', async () => {
      expect(await byName('100%')).toEqual(['zq 100% sure']);
      expect(await byName('0% s')).toEqual(['zq 100% sure']);
      expect(await byName('zq%sure')).toEqual([]);
      expect(await byName('der_sc')).toEqual(['zq under_score']);
      expect(await byName('_')).toEqual(['zq under_score']);
      expect(await byName('k\\sl')).toEqual(['zq back\\slash']);
      expect(await byName('r*q?[x')).toEqual(['zq star*q?[x]']);
      expect(await byName('[x]')).toEqual(['zq star*q?[x]']);
      expect(await byName('star?q')).toEqual([]);
      expect(await byName('zq*sure')).toEqual([]);
    });

    it('stays right after edits and removals', async () => {
      const edited = await h.request(admin, { method: 'PATCH', url: `/api/v1/access-keys/${made['beta-zqdeploy-two']}`, payload: { roles: [{ role: 'global-admin' }] } });
      expect(edited.statusCode).toBe(200);
      expect(await byName('zqdeploy')).toEqual(['Alpha-Zqdeploy-One', 'beta-zqdeploy-two']);
      expect(await byName('zqdeploy', '&role=global-admin')).toEqual(['beta-zqdeploy-two']);
      expect((await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${made['Alpha-Zqdeploy-One']}` })).statusCode).toBe(204);
      expect(await byName('zqdeploy')).toEqual(['beta-zqdeploy-two']);
      expect(await byName('deploy-one')).toEqual([]);
      // The name is free again, and a new key under it is found.
      await h.key([{ role: 'global-viewer' }], { name: 'alpha-zqdeploy-one' });
      expect(await byName('zqdeploy')).toEqual(['alpha-zqdeploy-one', 'beta-zqdeploy-two']);
      if (dialect === 'sqlite') {
        // The trigram table holds exactly the keys there are (the API alone would not show a stale row).
        const { rows } = await sql<{ id: string }>`select id from access_keys_name_fts order by id`.execute(h.ctx.storage.db);
        const keys = await h.ctx.storage.db.selectFrom('access_keys').select('id').orderBy('id').execute();
        expect(rows.map((r) => r.id)).toEqual(keys.map((k) => k.id));
      }
    });

    // Both plans: few matches (the trigram index) and, above 2,000 matches, the sort index.
    it.each([
      ['few', 12],
      ['many', 2100],
    ])('pages through %s matches in every sort, each exactly once and in order', async (_label, count) => {
      const tag = `pgzq${count}x`;
      const base = Date.parse('2026-01-01T00:00:00.000Z');
      const rows = Array.from({ length: count }, (_, i) => ({
        id: `${tag}-id-${String(i).padStart(5, '0')}`,
        name: `Bulk-${tag}-${String((i * 7919) % count).padStart(5, '0')}`,
        name_key: `bulk-${tag}-${String((i * 7919) % count).padStart(5, '0')}`,
        roles: JSON.stringify([{ role: i % 2 === 0 ? 'global-viewer' : 'global-admin' }]),
        created_at: new Date(base + (i % 5) * 1000).toISOString(),
        expires_at: new Date(base + 400 * DAY + (i % 3) * DAY).toISOString(),
        token_hash: `${tag}-${i}`,
        last_used_at: i % 4 === 0 ? null : new Date(base + (i % 7) * 1000).toISOString(),
        last_used_ip: null,
        use_count: 0,
      }));
      await insertKeyRows(rows);
      const limit = count > 100 ? 200 : 5;
      for (const sort of Object.keys(SORT_VALUE)) {
        for (const order of ['asc', 'desc']) {
          const seen = await allPages<{ id: string }>(`/api/v1/access-keys?sort=${sort}&order=${order}&limit=${limit}&name=${tag.toUpperCase()}`);
          expect(
            seen.map((k) => k.id),
            `${sort} ${order}`,
          ).toEqual(inListOrder(rows, sort, order));
        }
      }
    });
  });

  // Expiring: 2,100 keys in range, so the list walks each sort index and checks the expiry in
  // it (on SQLite in creation order with no other filter, it reads the range from the index of
  // expiry and creation and sorts it); expired: a few hundred, read from the expiry index and
  // sorted; active: the walk again. Every 29th key is disabled (expired ones among them), so
  // active and expiring skip disabled keys in each plan, and disabled reads them from their
  // partial index; expired keeps them (statusAt: expired wins).
  // Sort values are shared by hundreds of keys (creation second, never used, role, expiry day),
  // so pages start in the middle of a shared value and a cursor's value runs over pages.
  it('pages through each status filter, alone and with role and name filters, in every sort: each key exactly once and in order, across shared sort values', async () => {
    const tag = 'stzq';
    const now = h.clock().getTime();
    const base = now - 100 * DAY;
    const rows = Array.from({ length: 2400 }, (_, i) => {
      const expires = i < 2100 ? now + (1 + (i % 5)) * DAY : i < 2300 ? now - (1 + (i % 4)) * DAY : now + 200 * DAY;
      return {
        id: `${tag}-id-${String((i * 7919) % 2400).padStart(5, '0')}`,
        name: `${tag}-${String(i).padStart(5, '0')}`,
        name_key: `${tag}-${String(i).padStart(5, '0')}`,
        roles: JSON.stringify([{ role: i % 3 === 0 ? 'global-admin' : 'global-viewer' }]),
        created_at: new Date(base + (i % 3) * 1000).toISOString(),
        expires_at: new Date(expires).toISOString(),
        token_hash: `${tag}-${i}`,
        last_used_at: i % 2 === 0 ? null : new Date(base + (i % 7) * 1000).toISOString(),
        last_used_ip: null,
        use_count: 0,
        disabled_at: i % 29 === 0 ? new Date(base).toISOString() : null,
        disabled_reason: i % 29 === 0 ? 'manual' : null,
      };
    });
    await insertKeyRows(rows);
    type Row = Pick<(typeof rows)[number], 'expires_at' | 'disabled_at'>;
    const unexpired = (r: Row) => Date.parse(r.expires_at) > now;
    const inStatus: Record<string, (r: Row) => boolean> = {
      expiring: (r) => unexpired(r) && r.disabled_at === null && Date.parse(r.expires_at) <= now + 30 * DAY,
      expired: (r) => !unexpired(r),
      active: (r) => unexpired(r) && r.disabled_at === null,
      disabled: (r) => unexpired(r) && r.disabled_at !== null,
    };
    // The status each filter's keys show (an expiring key is active).
    const shown: Record<string, string> = { expiring: 'active', expired: 'expired', active: 'active', disabled: 'disabled' };
    expect(rows.filter((r) => inStatus.disabled!(r)).length).toBeGreaterThan(40);
    expect(rows.filter((r) => r.disabled_at !== null && !unexpired(r)).length).toBeGreaterThan(5);
    // With a role and a name filter too: the name matching all 2,400 (a walk) or 1,000 (the trigram index).
    const extras: Array<[string, (r: (typeof rows)[number]) => boolean]> = [
      ['', () => true],
      ['&role=global-admin&name=STZQ', (r) => r.roles.includes('global-admin')],
      ['&name=stzq-01', (r) => r.name_key.includes('stzq-01')],
    ];
    for (const [extra, alsoMatches] of extras) {
      for (const status of Object.keys(inStatus)) {
        for (const sort of Object.keys(SORT_VALUE)) {
          for (const order of ['asc', 'desc']) {
            // Disabled keys are few: smaller pages, so that their list pages too.
            const limit = status === 'disabled' ? 7 : 200;
            const seen = await allPages<{ id: string; expiresAt: string; status: string }>(
              `/api/v1/access-keys?sort=${sort}&order=${order}&limit=${limit}&status=${status}${extra}`,
            );
            const label = `${status}${extra} ${sort} ${order}`;
            expect(
              seen.filter((k) => k.status !== shown[status]).map((k) => k.id),
              label,
            ).toEqual([]);
            expect(new Set(seen.map((k) => k.id)).size, label).toBe(seen.length);
            const expected = inListOrder(
              rows.filter((r) => inStatus[status]!(r) && alsoMatches(r)),
              sort,
              order,
            );
            expect(
              seen.map((k) => k.id).filter((id) => id.startsWith(`${tag}-`)),
              label,
            ).toEqual(expected);
          }
        }
      }
    }
  });

  // Expiring in creation order is read day by day of the window (the plan's `by-expiry-day`),
  // a page from each day, merged: the window's first and last days also hold keys outside it
  // (expired earlier today; expiring just after the window), and consecutive keys in creation
  // order expire on different days.
  it('pages through expiring keys in creation order across the days of the window, its first and last days cut at the window', async () => {
    const tag = 'xpdq';
    const now = h.clock().getTime();
    const base = now - 400 * DAY;
    const expiries = [now + 1, now + 3 * DAY, now + 10 * DAY, now + 30 * DAY, now + 6 * DAY + 1, now + 7 * DAY];
    const outside = [Math.floor(now / DAY) * DAY + Math.floor((now % DAY) / 2), now + 30 * DAY + 1, now - 2 * DAY, now + 31 * DAY];
    const rows = Array.from({ length: 60 }, (_, i) => {
      const expires = i % 5 === 4 ? outside[((i / 5) % outside.length) | 0]! : expiries[i % expiries.length]!;
      return {
        id: `${tag}-id-${String((i * 37) % 60).padStart(3, '0')}`,
        name: `${tag}-${i}`,
        name_key: `${tag}-${i}`,
        roles: JSON.stringify([{ role: i % 2 === 0 ? 'global-admin' : 'global-viewer' }]),
        // Shared creation seconds, so that a page can end inside one.
        created_at: new Date(base + ((i * 7) % 20) * 1000).toISOString(),
        expires_at: new Date(expires).toISOString(),
        token_hash: `${tag}-${i}`,
        last_used_at: null,
        last_used_ip: null,
        use_count: 0,
        disabled_at: i % 11 === 3 ? new Date(base).toISOString() : null,
        disabled_reason: i % 11 === 3 ? 'manual' : null,
      };
    });
    await insertKeyRows(rows);
    for (const [query, days, holding] of [
      ['', 30, () => true],
      ['&expiringWithinDays=7', 7, () => true],
      ['&role=global-admin', 30, (r: (typeof rows)[number]) => r.roles.includes('global-admin')],
    ] as const) {
      const expected = rows.filter((r) => Date.parse(r.expires_at) > now && Date.parse(r.expires_at) <= now + days * DAY && r.disabled_at === null && holding(r));
      expect(expected.length).toBeGreaterThan(10);
      for (const order of ['asc', 'desc']) {
        const seen = await allPages<{ id: string }>(`/api/v1/access-keys?sort=createdAt&order=${order}&limit=4&status=expiring${query}`);
        expect(
          seen.map((k) => k.id).filter((id) => id.startsWith(`${tag}-`)),
          `${query} ${order}`,
        ).toEqual(inListOrder(expected, 'createdAt', order));
      }
    }
  });

  it('edits roles; a name in the body is refused naming the field', async () => {
    const { id } = await h.key([{ role: 'global-viewer' }], { name: 'editable' });
    const edited = await h.request(admin, {
      method: 'PATCH',
      url: `/api/v1/access-keys/${id}`,
      payload: { roles: [{ role: 'cloud-account-viewer', accounts: [accountId] }] },
    });
    expect(edited.statusCode).toBe(200);
    expect(edited.json().roles).toEqual([{ role: 'cloud-account-viewer', accounts: [accountId] }]);
    expect(edited.json().name).toBe('editable');
    // The edit replaced the grant rows and the role set the list sorts and filters by.
    const stored = await h.ctx.storage.db.selectFrom('access_key_grants').select(['role', 'all_accounts', 'account_id']).where('key_id', '=', id).execute();
    const heads = (g: { account_id: string | null }) => (g.account_id === null ? 0 : 1);
    expect(stored.map((g) => ({ ...g, all_accounts: Number(g.all_accounts) })).sort((a, b) => heads(a) - heads(b))).toEqual([
      { role: 'cloud-account-viewer', all_accounts: 0, account_id: null },
      { role: 'cloud-account-viewer', all_accounts: 0, account_id: accountId },
    ]);
    const byRole = async (role: string) =>
      (await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?role=${role}&name=editable` })).json().items.map((k: { id: string }) => k.id);
    expect(await byRole('global-viewer')).toEqual([]);
    expect(await byRole('cloud-account-viewer')).toEqual([id]);

    const renamed = await h.request(admin, { method: 'PATCH', url: `/api/v1/access-keys/${id}`, payload: { name: 'other', roles: [{ role: 'global-viewer' }] } });
    expect(renamed.statusCode).toBe(400);
    expect(renamed.headers['content-type']).toContain('application/problem+json');
    expect(renamed.json()).toMatchObject({ code: 'validation_failed', status: 400, errors: [{ in: 'body', pointer: '/name' }] });
    expect(renamed.json().detail).toContain('name');
    const missing = await h.request(admin, { method: 'PATCH', url: '/api/v1/access-keys/nope', payload: { roles: [{ role: 'global-viewer' }] } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it('removes a key (204): its token is refused on the very next request', async () => {
    const { id, token } = await h.key([{ role: 'global-admin' }], { name: 'doomed' });
    expect((await h.request(token, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(200);
    const removed = await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${id}` });
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBe('');
    const after = await h.request(token, { method: 'GET', url: '/api/v1/access-keys' });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('invalid_token');
    expect(after.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect((await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${id}` })).statusCode).toBe(404);
    // Its grants go with it (the foreign key cascades).
    expect(await h.ctx.storage.db.selectFrom('access_key_grants').select('key_id').where('key_id', '=', id).execute()).toEqual([]);
  });

  describe('names', () => {
    it('are trimmed, 1–64 characters, without control characters', async () => {
      const trimmed = await post({ name: '  padded  ', roles: [{ role: 'global-viewer' }] });
      expect(trimmed.json().name).toBe('padded');
      for (const name of ['', '   ', 'x'.repeat(65), 'tab\there', 'nl\nhere', 'del\u007f']) {
        const res = await post({ name, roles: [{ role: 'global-viewer' }] });
        expect(res.statusCode, JSON.stringify(name)).toBe(400);
        expect(res.json().code).toBe('validation_failed');
        expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer: '/name' });
      }
      expect((await post({ name: 'x'.repeat(64), roles: [{ role: 'global-viewer' }] })).statusCode).toBe(201);
      expect((await post({ name: 'ünïcødé ✓', roles: [{ role: 'global-viewer' }] })).statusCode).toBe(201);
    });

    it('are unique case-insensitively (409), and a removed key frees its name', async () => {
      const first = await post({ name: 'Unique-Name', roles: [{ role: 'global-viewer' }] });
      expect(first.statusCode).toBe(201);
      const dup = await post({ name: 'unique-name', roles: [{ role: 'global-viewer' }] });
      expect(dup.statusCode).toBe(409);
      expect(dup.json().code).toBe('name_taken');
      await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${first.json().id}` });
      expect((await post({ name: 'UNIQUE-NAME', roles: [{ role: 'global-viewer' }] })).statusCode).toBe(201);
    });

    it('are unique case-insensitively beyond ASCII, whatever the Unicode form', async () => {
      expect((await post({ name: 'Ärger-Schlüssel-Σ', roles: [{ role: 'global-viewer' }] })).statusCode).toBe(201);
      for (const same of ['ärger-schlüssel-σ', 'A\u0308RGER-SCHLU\u0308SSEL-Σ']) {
        const dup = await post({ name: same, roles: [{ role: 'global-viewer' }] });
        expect(dup.statusCode, same).toBe(409);
      }
      const found = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?name=${encodeURIComponent('SCHLÜSSEL')}` });
      expect(found.json().items.map((k: { name: string }) => k.name)).toEqual(['Ärger-Schlüssel-Σ']);
    });

    it('refuse invisible and control characters and names that render as nothing (400 naming the field)', async () => {
      expect((await post({ name: 'zw-bot', roles: [{ role: 'global-viewer' }] })).statusCode).toBe(201);
      const refused = [
        'zw-bot\u200b',
        '\u200b',
        '\u3164',
        '\u115f',
        '\uffa0',
        '\u202eevil',
        'a\u2066b',
        '\ufeffbom',
        'emoji\ufe0f',
        'tag\u{e0041}',
        'soft\u00adhyphen',
        'esc\u001b',
        'c1\u0085',
        '\u2800 \u3000',
      ];
      for (const name of refused) {
        const res = await post({ name, roles: [{ role: 'global-viewer' }] });
        expect(res.statusCode, JSON.stringify(name)).toBe(400);
        expect(res.json().code).toBe('validation_failed');
        expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer: '/name' });
      }
      expect((await post({ name: '\u200b', roles: [{ role: 'global-viewer' }] })).json().errors[0].message).toContain('U+200B');
      const listed = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?name=${encodeURIComponent('zw-bot')}` });
      expect(listed.json().items.map((k: { name: string }) => k.name)).toEqual(['zw-bot']);
    });

    it('are stored in NFC and compared after NFKC and case folding: full-width and ß forms collide (409 name_taken) and the name filter folds alike', async () => {
      expect((await post({ name: 'fold-bot', roles: [{ role: 'global-viewer' }] })).statusCode).toBe(201);
      for (const same of ['ｆｏｌｄ-ｂｏｔ', 'ＦＯＬＤ-ＢＯＴ', 'FOLD-BOT']) {
        const dup = await post({ name: same, roles: [{ role: 'global-viewer' }] });
        expect(dup.statusCode, same).toBe(409);
        expect(dup.json().code).toBe('name_taken');
      }
      expect((await post({ name: 'Straße-Key', roles: [{ role: 'global-viewer' }] })).statusCode).toBe(201);
      expect((await post({ name: 'STRASSE-KEY', roles: [{ role: 'global-viewer' }] })).json().code).toBe('name_taken');
      const decomposed = await post({ name: 'Cafe\u0301-key', roles: [{ role: 'global-viewer' }] });
      expect(decomposed.json().name).toBe('Café-key');
      const found = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?name=${encodeURIComponent('ＦＯＬＤ')}` });
      expect(found.json().items.map((k: { name: string }) => k.name)).toEqual(['fold-bot']);
      const strasse = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?name=${encodeURIComponent('strasse')}` });
      expect(strasse.json().items.map((k: { name: string }) => k.name)).toEqual(['Straße-Key']);
    });

    it('migration 2026-12-07T02 refolds the keys of names beyond ASCII; of two that now collide, each stays reachable by its exact name', async () => {
      const db = h.ctx.storage.db;
      const wide = (await post({ name: 'ｗｉｄｅ-ｋｅｙ', roles: [{ role: 'global-viewer' }] })).json();
      const ascii = (await post({ name: 'twin-key', roles: [{ role: 'global-viewer' }] })).json();
      const twin = (await post({ name: 'placeholder-twin', roles: [{ role: 'global-viewer' }] })).json();
      // As a database from before the migration holds them: NFC and lower case, and a second key
      // whose name was distinct then but folds to an existing one now.
      await db.updateTable('access_keys').set({ name_key: 'ｗｉｄｅ-ｋｅｙ' }).where('id', '=', wide.id).execute();
      await db.updateTable('access_keys').set({ name: 'ＴＷＩＮ-ＫＥＹ', name_key: 'ｔｗｉｎ-ｋｅｙ' }).where('id', '=', twin.id).execute();
      const { up } = await import('../src/db/migrations/2026-12-07T02-folded-name-keys.ts');
      await up(db);
      const keyOf = async (id: string) => (await db.selectFrom('access_keys').select('name_key').where('id', '=', id).executeTakeFirstOrThrow()).name_key;
      expect(await keyOf(wide.id)).toBe('wide-key');
      expect(await keyOf(ascii.id)).toBe('twin-key');
      expect(await keyOf(twin.id)).toBe('ｔｗｉｎ-ｋｅｙ');
      const found = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?name=wide-k' });
      expect(found.json().items.map((k: { id: string }) => k.id)).toEqual([wide.id]);
      expect((await h.ctx.accessKeys.getByName('ＴＷＩＮ-ＫＥＹ')).id).toBe(twin.id);
      expect((await h.ctx.accessKeys.getByName('Twin-Key')).id).toBe(ascii.id);
      expect((await h.ctx.accessKeys.getByName('ＷＩＤＥ-ＫＥＹ')).id).toBe(wide.id);
    });

    it('stay unique under concurrent creates', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => post({ name: 'race', roles: [{ role: 'global-viewer' }] })));
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    });
  });

  describe('expiration', () => {
    const expiresAt = async (expiration: unknown) => {
      const res = await post({ name: `exp-${Math.random()}`, roles: [{ role: 'global-viewer' }], ...(expiration === undefined ? {} : { expiration }) });
      expect(res.statusCode).toBe(201);
      return res.json() as { createdAt: string; expiresAt: string; token: string };
    };

    it('defaults to six calendar months; presets and custom days compute from creation', async () => {
      h.clock.set(new Date('2027-08-31T10:20:30.456Z'));
      const def = await expiresAt(undefined);
      expect(def.createdAt).toBe('2027-08-31T10:20:30.000Z');
      expect(def.expiresAt).toBe('2028-02-29T10:20:30.000Z');
      expect((await expiresAt('6mo')).expiresAt).toBe('2028-02-29T10:20:30.000Z');
      expect((await expiresAt('1y')).expiresAt).toBe('2028-08-31T10:20:30.000Z');
      expect((await expiresAt('7d')).expiresAt).toBe('2027-09-07T10:20:30.000Z');
      expect((await expiresAt('30d')).expiresAt).toBe('2027-09-30T10:20:30.000Z');
      expect((await expiresAt('90d')).expiresAt).toBe('2027-11-29T10:20:30.000Z');
      expect((await expiresAt({ days: 1 })).expiresAt).toBe('2027-09-01T10:20:30.000Z');
      expect((await expiresAt({ days: 730 })).expiresAt).toBe('2029-08-30T10:20:30.000Z');
    });

    it('refuses custom days outside 1 to the configured maximum, and unknown presets', async () => {
      for (const expiration of [{ days: 0 }, { days: 731 }, { days: 1.5 }, { days: '3' }, '2w', { days: 3, extra: 1 }]) {
        const res = await post({ name: 'bad-exp', roles: [{ role: 'global-viewer' }], expiration });
        expect(res.statusCode, JSON.stringify(expiration)).toBe(400);
        expect(res.json().code).toBe('validation_failed');
      }
    });

    it('stores expiresAt equal to the token exp; an expired key is listed as expired and refused', async () => {
      h.clock.set(new Date('2027-01-01T00:00:00Z'));
      const key = await post({ name: 'short-lived', roles: [{ role: 'global-admin' }], expiration: '7d' });
      const { token, expiresAt: exp, id } = key.json();
      const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
      expect(payload.exp * 1000).toBe(Date.parse(exp));
      expect((await h.request(token, { method: 'GET', url: `/api/v1/access-keys/${id}` })).statusCode).toBe(200);

      h.clock.set(new Date(Date.parse(exp) - 1000));
      expect((await h.request(token, { method: 'GET', url: `/api/v1/access-keys/${id}` })).statusCode).toBe(200);
      h.clock.set(new Date(Date.parse(exp)));
      const refused = await h.request(token, { method: 'GET', url: `/api/v1/access-keys/${id}` });
      expect(refused.statusCode).toBe(401);
      expect(refused.json().code).toBe('invalid_token');
      const listed = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys/${id}` });
      expect(listed.json().status).toBe('expired');
      const expiredOnly = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?status=expired&limit=200' });
      expect(expiredOnly.json().items.map((k: { id: string }) => k.id)).toContain(id);
      h.clock.set(new Date('2027-01-01T00:00:00Z'));
    });

    it('lists a disabled key under status=disabled only, until it expires; enabled again, under active', async () => {
      const { id } = (await post({ name: 'switched-off', roles: [{ role: 'global-viewer' }], expiration: '7d' })).json();
      const listedUnder = async () => {
        const statuses: string[] = [];
        for (const status of ['active', 'expiring', 'disabled', 'expired']) {
          const ids = (await allPages<{ id: string }>(`/api/v1/access-keys?status=${status}&limit=200`)).map((k) => k.id);
          if (ids.includes(id)) statuses.push(status);
        }
        return statuses;
      };
      expect(await listedUnder()).toEqual(['active', 'expiring']);
      const disabled = await h.request(admin, { method: 'PATCH', url: `/api/v1/access-keys/${id}`, payload: { disabled: true } });
      expect(disabled.json().status).toBe('disabled');
      expect(await listedUnder()).toEqual(['disabled']);

      const enabled = await h.request(admin, { method: 'PATCH', url: `/api/v1/access-keys/${id}`, payload: { disabled: false } });
      expect(enabled.json().status).toBe('active');
      expect(await listedUnder()).toEqual(['active', 'expiring']);

      await h.request(admin, { method: 'PATCH', url: `/api/v1/access-keys/${id}`, payload: { disabled: true } });
      h.clock.set(new Date(Date.parse(disabled.json().expiresAt)));
      expect((await h.request(admin, { method: 'GET', url: `/api/v1/access-keys/${id}` })).json().status).toBe('expired');
      expect(await listedUnder()).toEqual(['expired']);
      h.clock.set(new Date('2027-01-01T00:00:00Z'));
    });
  });

  describe('roles', () => {
    it('need at least one grant; a Cloud Account Viewer needs "all" or existing accounts', async () => {
      const cases: Array<[unknown, string]> = [
        [[], 'validation_failed'],
        [[{ role: 'cloud-account-viewer' }], 'validation_failed'],
        [[{ role: 'cloud-account-viewer', accounts: [] }], 'validation_failed'],
        [[{ role: 'cloud-account-viewer', accounts: 'some' }], 'validation_failed'],
        [[{ role: 'super-admin' }], 'validation_failed'],
        [[{ role: 'global-admin', accounts: 'all' }], 'validation_failed'],
      ];
      for (const [roles, code] of cases) {
        const res = await post({ name: 'bad-roles', roles });
        expect(res.statusCode, JSON.stringify(roles)).toBe(400);
        expect(res.json().code).toBe(code);
      }
      const unknown = await post({ name: 'bad-roles', roles: [{ role: 'cloud-account-viewer', accounts: [accountId, 'ghost-1', 'ghost-2'] }] });
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().code).toBe('unknown_accounts');
      expect(unknown.json().unknownAccounts).toEqual(['ghost-1', 'ghost-2']);
      expect(unknown.json().detail).toContain('ghost-1');
    });

    it('merge duplicate grants', async () => {
      const res = await post({
        name: 'merged',
        roles: [
          { role: 'global-viewer' },
          { role: 'cloud-account-viewer', accounts: [accountId] },
          { role: 'global-viewer' },
          { role: 'cloud-account-viewer', accounts: [accountId] },
        ],
      });
      expect(res.statusCode).toBe(201);
      expect(res.json().roles).toEqual([{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: [accountId] }]);
      const all = await post({
        name: 'merged-all',
        roles: [
          { role: 'cloud-account-viewer', accounts: [accountId] },
          { role: 'cloud-account-viewer', accounts: 'all' },
        ],
      });
      expect(all.json().roles).toEqual([{ role: 'cloud-account-viewer', accounts: 'all' }]);
    });

    it('only a Global Admin may use the access-keys API (403 insufficient_scope otherwise)', async () => {
      const viewer = (await h.key([{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: 'all' }])).token;
      for (const [method, url] of [
        ['GET', '/api/v1/access-keys'],
        ['POST', '/api/v1/access-keys'],
        ['GET', '/api/v1/access-keys/x'],
        ['PATCH', '/api/v1/access-keys/x'],
        ['DELETE', '/api/v1/access-keys/x'],
      ] as const) {
        const res = await h.request(viewer, {
          method,
          url,
          ...(method === 'POST' || method === 'PATCH' ? { payload: { name: 'n', roles: [{ role: 'global-admin' }] } } : {}),
        });
        expect(res.statusCode, `${method} ${url}`).toBe(403);
        expect(res.json().code).toBe('insufficient_scope');
        expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
      }
    });
  });

  describe('bad input', () => {
    it('refuses unknown fields, malformed JSON and wrong content types with 4xx problem+json', async () => {
      const unknown = await post({ name: 'x1', roles: [{ role: 'global-viewer' }], admin: true });
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().errors[0]).toMatchObject({ in: 'body', pointer: '/admin' });
      const malformed = await h.request(admin, { method: 'POST', url: '/api/v1/access-keys', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().code).toBe('validation_failed');
      const text = await h.request(admin, { method: 'POST', url: '/api/v1/access-keys', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
      expect(text.statusCode).toBe(415);
      expect(text.json().code).toBe('unsupported_media_type');
      const big = await h.request(admin, { method: 'POST', url: '/api/v1/access-keys', payload: { name: 'x'.repeat(2 * 1024 * 1024), roles: [] } });
      expect(big.statusCode).toBe(413);
      expect(big.json().code).toBe('payload_too_large');
      const notJsonNumber = await post({ name: 12, roles: [{ role: 'global-viewer' }] });
      expect(notJsonNumber.statusCode).toBe(400);
      const unknownRoute = await h.request(admin, { method: 'GET', url: '/api/v1/nothing-here' });
      expect(unknownRoute.statusCode).toBe(404);
      expect(unknownRoute.json()).toMatchObject({ code: 'not_found', status: 404, type: 'urn:tessera:problem:not_found' });
    });
  });
});
