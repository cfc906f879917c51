import { Type } from 'typebox';
import type { Db } from '../db/database.ts';
import { AppError, validationFailed } from '../http/errors.ts';
import { MAX_ROLES } from '../shared/limits.ts';
import { deleteAccountGrantRows, deleteGrantRowsOf, grantRowsOf, holdersNamingAccount, insertGrantRows, type GrantHolder, type GrantRow } from './grant.repository.ts';
import { mergeGrants, namedAccountIds, ROLE_TITLES, ROLES, type Grant, type Role } from './permissions.ts';

export type { GrantHolder, GrantRow } from './grant.repository.ts';

/** The JSON schema of one grant, shared by access keys and users. */
export const GrantSchema = Type.Union(
  [
    Type.Object({ role: Type.Literal('global-admin') }, { additionalProperties: false }),
    Type.Object({ role: Type.Literal('global-viewer') }, { additionalProperties: false }),
    Type.Object(
      {
        role: Type.Literal('cloud-account-viewer'),
        accounts: Type.Union([Type.Literal('all'), Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 1000 })]),
      },
      { additionalProperties: false },
    ),
  ],
  { $id: 'Grant', description: 'One role. Cloud Account Viewer names the accounts it may see, or "all" (including accounts added later).' },
);

export const RolesSchema = Type.Array(Type.Ref('Grant'), { minItems: 1, maxItems: MAX_ROLES });

/** Which of `ids` exist as cloud accounts: the cloud-accounts feature answers (existingAccountIds). */
export type AccountLookup = (db: Db, ids: readonly string[]) => Promise<ReadonlySet<string>>;

/**
 * Checks grants against the rules (at least one; a Cloud Account Viewer list names at least
 * one existing account) and merges duplicates. Throws coded errors naming what is wrong.
 */
export async function validateGrants(db: Db, grants: readonly Grant[], existingAccounts: AccountLookup): Promise<Grant[]> {
  if (grants.length === 0) throw validationFailed('/roles', 'must contain at least one role');
  grants.forEach((grant, index) => {
    if (grant.role === 'cloud-account-viewer' && grant.accounts !== 'all' && grant.accounts.length === 0) {
      throw validationFailed(`/roles/${index}/accounts`, 'must name at least one cloud account, or be "all"');
    }
  });
  const named = namedAccountIds(grants);
  const existing = await existingAccounts(db, named);
  const unknown = named.filter((id) => !existing.has(id));
  if (unknown.length > 0) {
    throw new AppError('unknown_accounts', `These cloud accounts do not exist: ${unknown.join(', ')}.`, { unknownAccounts: unknown });
  }
  return mergeGrants(grants);
}

/**
 * Every set of roles a holder can have, in the order the access-keys list sorts by role: each
 * set as its grants list it (ROLES order), compared role by role by title as the console shows
 * them (Cloud Account Viewer, Global Admin, Global Viewer), a shorter list first. So the first
 * role decides, then the second. A key stores its set's position here (`access_keys.role_set`):
 * a role sort is an index walk, a role filter `role_set in (the sets holding the role)`.
 */
export const ROLE_SETS: ReadonlyArray<readonly Role[]> = (() => {
  const sets: Role[][] = [];
  for (let mask = 1; mask < 1 << ROLES.length; mask++) sets.push(ROLES.filter((_, i) => (mask & (1 << i)) !== 0));
  const byTitle = (a: Role, b: Role) => (ROLE_TITLES[a] < ROLE_TITLES[b] ? -1 : ROLE_TITLES[a] > ROLE_TITLES[b] ? 1 : 0);
  return sets.sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return byTitle(a[i]!, b[i]!);
    return a.length - b.length;
  });
})();

/** The position in ROLE_SETS of the roles these (merged) grants give. */
export function roleSetOf(grants: readonly Grant[]): number {
  const held = ROLES.filter((role) => grants.some((g) => g.role === role)).join(',');
  const position = ROLE_SETS.findIndex((set) => set.join(',') === held);
  if (position < 0) throw new TypeError('grants must hold at least one role');
  return position;
}

/** The positions in ROLE_SETS of the sets that include `role`, ascending. */
export function roleSetsHolding(role: Role): number[] {
  return ROLE_SETS.flatMap((set, position) => (set.includes(role) ? [position] : []));
}

/**
 * A holder's grants as rows: one head row per role (`account_id` null; `all_accounts` 1 when the
 * role covers every account), and one row per account a listed Cloud Account Viewer may see. The
 * head row keeps a list grant whose accounts were all removed: it stays, seeing nothing.
 */
export function grantsToRows(holderId: string, grants: readonly Grant[]): GrantRow[] {
  return grants.flatMap((grant): GrantRow[] => {
    const listed = grant.role === 'cloud-account-viewer' && grant.accounts !== 'all' ? grant.accounts : undefined;
    const head: GrantRow = { holder_id: holderId, role: grant.role, all_accounts: listed === undefined ? 1 : 0, account_id: null };
    return [head, ...(listed ?? []).map((accountId) => ({ holder_id: holderId, role: grant.role, all_accounts: 0, account_id: accountId }))];
  });
}

/** Grant rows (of any holders, in any order) back into each holder's merged grants. */
export function grantsFromRows(rows: readonly GrantRow[]): Map<string, Grant[]> {
  const byHolder = new Map<string, GrantRow[]>();
  for (const row of rows) {
    const list = byHolder.get(row.holder_id);
    if (list === undefined) byHolder.set(row.holder_id, [row]);
    else list.push(row);
  }
  const result = new Map<string, Grant[]>();
  for (const [holderId, held] of byHolder) {
    const grants = held
      .filter((row) => row.account_id === null)
      .map((head): Grant => {
        if (head.role !== 'cloud-account-viewer') return { role: head.role as 'global-admin' | 'global-viewer' };
        if (Number(head.all_accounts) === 1) return { role: 'cloud-account-viewer', accounts: 'all' };
        const accounts = held.flatMap((row) => (row.role === head.role && row.account_id !== null ? [row.account_id] : []));
        return { role: 'cloud-account-viewer', accounts };
      });
    result.set(holderId, mergeGrants(grants));
  }
  return result;
}

/** Each holder's grants; a holder without any is absent from the map. */
export async function grantsOf(db: Db, holder: GrantHolder, holderIds: readonly string[]): Promise<Map<string, Grant[]>> {
  if (holderIds.length === 0) return new Map();
  return grantsFromRows(await grantRowsOf(db, holder, holderIds));
}

/** Stores a new holder's grants (validated and merged: validateGrants). */
export async function storeGrants(db: Db, holder: GrantHolder, holderId: string, grants: readonly Grant[]): Promise<void> {
  await insertGrantRows(db, holder, grantsToRows(holderId, grants));
}

/** Replaces a holder's grants (validated and merged: validateGrants). */
export async function replaceGrants(db: Db, holder: GrantHolder, holderId: string, grants: readonly Grant[]): Promise<void> {
  await deleteGrantRowsOf(db, holder, holderId);
  await storeGrants(db, holder, holderId, grants);
}

/**
 * Drops an account from every grant that names it (the account is being removed), in the
 * caller's transaction; a list grant left with no account stays, seeing nothing. Returns the
 * keys and users whose grants changed, whose caches must be told.
 */
export async function removeAccountFromGrants(db: Db, accountId: string): Promise<{ keys: string[]; users: string[] }> {
  const keys = await holdersNamingAccount(db, 'access-key', accountId);
  const users = await holdersNamingAccount(db, 'user', accountId);
  await deleteAccountGrantRows(db, 'access-key', accountId);
  await deleteAccountGrantRows(db, 'user', accountId);
  return { keys, users };
}
