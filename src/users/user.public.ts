import type { Db } from '../db/database.ts';
import type { Work } from '../db/transactions.ts';
import { findUserRow, findUserRowByEmailKey, JOINED_GRANT_COLUMNS, rowToUser, updateUserRow, withJoinedGrants, type UserRecord } from './user.repository.ts';
import { tokensRevokedAt, type User } from './user.ts';

// What other features may ask of users (sign-in, sessions and user tokens authenticate them);
// the users table is written by this feature alone. Reads return the row, since
// authenticating needs what the API never shows (status, password hash, token revocation).

export { JOINED_GRANT_COLUMNS, rowToUser, withJoinedGrants, type UserRecord };

/** A user by id, with their grants; the user-token check calls it on every request, so it is one query. */
export function findUserById(db: Db, id: string): Promise<UserRecord | undefined> {
  return findUserRow(db, id);
}

/** A user by the comparison key of their email (`emailKey`), for sign-in. */
export function findUserByEmailKey(db: Db, key: string): Promise<UserRecord | undefined> {
  return findUserRowByEmailKey(db, key);
}

/**
 * Records a successful sign-in (console session or user token) at the unit's time; returns
 * the user as it now is.
 */
export async function recordSignIn(work: Work, user: UserRecord): Promise<User> {
  const at = work.now.toISOString();
  await updateUserRow(work.trx, user.id, { last_sign_in_at: at });
  return rowToUser({ ...user, last_sign_in_at: at });
}

/**
 * Refuses every user token issued to the user so far (a sign-out everywhere), from the next
 * request on. Returns false when the user no longer exists.
 */
export async function revokeUserTokens(work: Work, userId: string): Promise<boolean> {
  const row = await findUserRow(work.trx, userId);
  if (row === undefined) return false;
  await updateUserRow(work.trx, userId, { tokens_valid_after: tokensRevokedAt(work.now, row.tokens_valid_after) });
  work.announce({ kind: 'user', id: userId });
  return true;
}
