import { Type } from 'typebox';
import { existingAccountIds } from '../cloud-accounts/cloud-account.repository.ts';
import type { Db } from '../db/database.ts';
import { AppError, validationFailed } from '../http/errors.ts';
import { MAX_ROLES } from '../shared/limits.ts';
import { mergeGrants, namedAccountIds, type Grant } from './permissions.ts';

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

/**
 * Checks grants against the rules (at least one; a Cloud Account Viewer list names at least
 * one existing account) and merges duplicates. Throws coded errors naming what is wrong.
 */
export async function validateGrants(db: Db, grants: readonly Grant[]): Promise<Grant[]> {
  if (grants.length === 0) throw validationFailed('/roles', 'must contain at least one role');
  grants.forEach((grant, index) => {
    if (grant.role === 'cloud-account-viewer' && grant.accounts !== 'all' && grant.accounts.length === 0) {
      throw validationFailed(`/roles/${index}/accounts`, 'must name at least one cloud account, or be "all"');
    }
  });
  const named = namedAccountIds(grants);
  const existing = await existingAccountIds(db, named);
  const unknown = named.filter((id) => !existing.has(id));
  if (unknown.length > 0) {
    throw new AppError('unknown_accounts', `These cloud accounts do not exist: ${unknown.join(', ')}.`, { unknownAccounts: unknown });
  }
  return mergeGrants(grants);
}

/** Parses grants stored as JSON text (written only by us, after validation). */
export function parseStoredGrants(json: string): Grant[] {
  return JSON.parse(json) as Grant[];
}
