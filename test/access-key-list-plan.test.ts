import { describe, expect, it } from 'vitest';
import { choosePlan, countsNeeded, type ListPlan, type ListShape } from '../src/access-keys/access-key-list-plan.ts';
import { ROLE_SETS, roleSetOf, roleSetsHolding } from '../src/auth/grants.ts';

const shape = (over: Partial<ListShape>): ListShape => ({
  dialect: 'sqlite',
  sort: 'createdAt',
  status: undefined,
  role: false,
  name: undefined,
  windowDays: undefined,
  ...over,
});

describe('the access-keys list plan', () => {
  // [what, shape, counts taken, the caps countsNeeded asks for, the plan]
  const cases: Array<[string, Partial<ListShape>, { status?: number; name?: number }, ReturnType<typeof countsNeeded>, ListPlan]> = [
    ['PostgreSQL, nothing filtered: the walk reads the rows', { dialect: 'postgres' }, {}, {}, { status: 'none', name: 'none', rows: 'from-scan' }],
    ['SQLite, nothing filtered: rows by rowid', {}, {}, {}, { status: 'none', name: 'none', rows: 'by-row-key' }],
    ['a role filter alone needs no count', { dialect: 'postgres', role: true, sort: 'name' }, {}, {}, { status: 'none', name: 'none', rows: 'from-scan' }],
    [
      'sorted by expiry, a status is a range of the sort column',
      { sort: 'expiresAt', status: 'expiring' },
      {},
      {},
      { status: 'sort-column', name: 'none', rows: 'by-row-key' },
    ],
    [
      'a dense status walks the sort index',
      { dialect: 'postgres', sort: 'name', status: 'active' },
      { status: 2000 },
      { statusCap: 2000 },
      { status: 'checked-in-sort-index', name: 'none', rows: 'by-row-key' },
    ],
    [
      'a sparse status is read from the expiry index',
      { dialect: 'postgres', sort: 'lastUsedAt', status: 'expired' },
      { status: 1999 },
      { statusCap: 2000 },
      { status: 'read-range', name: 'none', rows: 'by-row-key' },
    ],
    [
      'SQLite in creation order: the range read wins up to 50,000',
      { sort: 'createdAt', status: 'expired' },
      { status: 33_000 },
      { statusCap: 50_000 },
      { status: 'read-range', name: 'none', rows: 'by-row-key' },
    ],
    [
      'SQLite in creation order with a role filter: the 2,000 threshold again',
      { sort: 'createdAt', status: 'active', role: true },
      { status: 2000 },
      { statusCap: 2000 },
      { status: 'checked-in-sort-index', name: 'none', rows: 'by-row-key' },
    ],
    [
      'PostgreSQL in creation order: active keeps the 2,000 threshold',
      { dialect: 'postgres', sort: 'createdAt', status: 'active' },
      { status: 2000 },
      { statusCap: 2000 },
      { status: 'checked-in-sort-index', name: 'none', rows: 'by-row-key' },
    ],
    [
      'PostgreSQL, expiring in creation order: read by expiry day, uncounted',
      { dialect: 'postgres', sort: 'createdAt', status: 'expiring', windowDays: 30 },
      {},
      {},
      { status: 'by-expiry-day', name: 'none', rows: 'by-row-key' },
    ],
    [
      'SQLite, expiring in creation order with a role filter: read by expiry day',
      { sort: 'createdAt', status: 'expiring', windowDays: 7, role: true },
      {},
      {},
      { status: 'by-expiry-day', name: 'none', rows: 'by-row-key' },
    ],
    [
      'expiring in creation order over the longest window read by day',
      { dialect: 'postgres', sort: 'createdAt', status: 'expiring', windowDays: 31 },
      {},
      {},
      { status: 'by-expiry-day', name: 'none', rows: 'by-row-key' },
    ],
    [
      'expiring in creation order over a longer window: counted, and walked when dense',
      { dialect: 'postgres', sort: 'createdAt', status: 'expiring', windowDays: 32 },
      { status: 2000 },
      { statusCap: 2000 },
      { status: 'checked-in-sort-index', name: 'none', rows: 'by-row-key' },
    ],
    [
      'expiring in creation order with a name filter: counted, the name its own plan',
      { sort: 'createdAt', status: 'expiring', windowDays: 30, name: 'deploy' },
      { status: 1999, name: 5000 },
      { statusCap: 2000, nameCap: 2000 },
      { status: 'read-range', name: 'like', rows: 'by-row-key' },
    ],
    [
      'expiring in another order: counted as before',
      { dialect: 'postgres', sort: 'name', status: 'expiring', windowDays: 30 },
      { status: 2000 },
      { statusCap: 2000 },
      { status: 'checked-in-sort-index', name: 'none', rows: 'by-row-key' },
    ],
    [
      'disabled: read from its partial index, uncounted, in any sort',
      { dialect: 'postgres', sort: 'name', status: 'disabled' },
      {},
      {},
      { status: 'read-disabled', name: 'none', rows: 'by-row-key' },
    ],
    [
      'disabled, sorted by expiry: still read from its partial index',
      { sort: 'expiresAt', status: 'disabled' },
      {},
      {},
      { status: 'read-disabled', name: 'none', rows: 'by-row-key' },
    ],
    [
      'SQLite in creation order, disabled: no count of the expiry range',
      { sort: 'createdAt', status: 'disabled', name: 'deploy' },
      { name: 5000 },
      { nameCap: 2000 },
      { status: 'read-disabled', name: 'like', rows: 'by-row-key' },
    ],
    ['SQLite, a common name walks the sort index', { name: 'deploy' }, { name: 2000 }, { nameCap: 2000 }, { status: 'none', name: 'like', rows: 'by-row-key' }],
    [
      'SQLite, a rare name is looked up in the trigram table',
      { name: 'deploy' },
      { name: 1999 },
      { nameCap: 2000 },
      { status: 'none', name: 'trigram', rows: 'by-row-key' },
    ],
    ['SQLite, a rare short name scans the name index', { name: 'de' }, { name: 499 }, { nameCap: 500 }, { status: 'none', name: 'name-index-scan', rows: 'by-row-key' }],
    ['SQLite, a common short name walks', { name: 'de' }, { name: 500 }, { nameCap: 500 }, { status: 'none', name: 'like', rows: 'by-row-key' }],
    ['SQLite, special characters do not make a trigram', { name: 'a*b' }, { name: 0 }, { nameCap: 500 }, { status: 'none', name: 'name-index-scan', rows: 'by-row-key' }],
    ['PostgreSQL leaves a name to its planner, uncounted', { dialect: 'postgres', name: 'deploy' }, {}, {}, { status: 'none', name: 'like', rows: 'by-row-key' }],
    [
      'both filters: each chosen on its own count',
      { sort: 'name', status: 'expired', name: 'deploy' },
      { status: 10, name: 5000 },
      { statusCap: 2000, nameCap: 2000 },
      { status: 'read-range', name: 'like', rows: 'by-row-key' },
    ],
  ];

  it.each(cases)('%s', (_what, over, counts, needed, plan) => {
    expect(countsNeeded(shape(over))).toEqual(needed);
    expect(choosePlan(shape(over), counts)).toEqual(plan);
  });
});

describe('role sets', () => {
  it('are ordered by the roles’ titles, role by role, a shorter list first', () => {
    expect(ROLE_SETS.map((set) => set.join('+'))).toEqual([
      'cloud-account-viewer',
      'global-admin',
      'global-admin+cloud-account-viewer',
      'global-admin+global-viewer',
      'global-admin+global-viewer+cloud-account-viewer',
      'global-viewer',
      'global-viewer+cloud-account-viewer',
    ]);
  });

  it('name each key’s set, and the sets holding a role', () => {
    expect(roleSetOf([{ role: 'cloud-account-viewer', accounts: [] }])).toBe(0);
    expect(roleSetOf([{ role: 'global-admin' }, { role: 'cloud-account-viewer', accounts: 'all' }])).toBe(2);
    expect(roleSetOf([{ role: 'global-viewer' }])).toBe(5);
    expect(() => roleSetOf([])).toThrow(TypeError);
    expect(roleSetsHolding('global-admin')).toEqual([1, 2, 3, 4]);
    expect(roleSetsHolding('global-viewer')).toEqual([3, 4, 5, 6]);
    expect(roleSetsHolding('cloud-account-viewer')).toEqual([0, 2, 4, 6]);
  });
});
