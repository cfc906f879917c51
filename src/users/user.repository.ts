import { sql } from 'kysely';
import { grantsFromRows, grantsOf } from '../auth/grants.ts';
import type { Grant } from '../auth/permissions.ts';
import type { Db } from '../db/database.ts';
import type { InvitationRow, UserRow } from '../db/schema.ts';
import { comparisonKey } from '../util/names.ts';
import { tokensRevokedAt, type User } from './user.ts';

/** A user's row with their grants (held in user_grants, see src/auth/grants.ts). */
export type UserRecord = UserRow & { grants: Grant[] };

/** Rows with their grants (one query for all of them). */
export async function withUserGrants(db: Db, rows: UserRow[]): Promise<UserRecord[]> {
  const grants = await grantsOf(
    db,
    'user',
    rows.map((row) => row.id),
  );
  return rows.map((row) => ({ ...row, grants: grants.get(row.id) ?? [] }));
}

/**
 * The user_grants columns a query of users left-joins, so that a user and their grants come
 * in one query (on the grant table's holder index): a row per grant row, or one with nulls.
 */
export const JOINED_GRANT_COLUMNS = [
  'user_grants.role as grant_role',
  'user_grants.all_accounts as grant_all_accounts',
  'user_grants.account_id as grant_account_id',
] as const;

export interface JoinedGrantColumns {
  grant_role: string | null;
  grant_all_accounts: number | null;
  grant_account_id: string | null;
}

/** A user's row with the grants of the rows it was read with (JOINED_GRANT_COLUMNS). */
export function withJoinedGrants(user: UserRow, rows: readonly JoinedGrantColumns[]): UserRecord {
  const grantRows = rows.flatMap((r) =>
    r.grant_role === null ? [] : [{ holder_id: user.id, role: r.grant_role, all_accounts: Number(r.grant_all_accounts), account_id: r.grant_account_id }],
  );
  return { ...user, grants: grantsFromRows(grantRows).get(user.id) ?? [] };
}

async function findUserWhere(db: Db, column: 'users.id' | 'users.email_key', value: string): Promise<UserRecord | undefined> {
  const rows = await db
    .selectFrom('users')
    .leftJoin('user_grants', 'user_grants.user_id', 'users.id')
    .selectAll('users')
    .select(JOINED_GRANT_COLUMNS)
    .where(column, '=', value)
    .execute();
  const first = rows[0];
  if (first === undefined) return undefined;
  const { grant_role: _role, grant_all_accounts: _all, grant_account_id: _account, ...user } = first;
  return withJoinedGrants(user, rows);
}

export function rowToUser(row: UserRecord): User {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    roles: row.grants,
    status: row.status === 'active' ? 'active' : 'pending',
    primary: Number(row.is_primary) === 1,
    createdAt: row.created_at,
    lastSignInAt: row.last_sign_in_at,
    passwordGenerated: Number(row.password_generated) === 1,
  };
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertUser(db: Db, row: UserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}

/** A user with their grants, in one query. */
export function findUserRow(db: Db, id: string): Promise<UserRecord | undefined> {
  return findUserWhere(db, 'users.id', id);
}

export function findUserRowByEmailKey(db: Db, key: string): Promise<UserRecord | undefined> {
  return findUserWhere(db, 'users.email_key', key);
}

export async function updateUserRow(
  db: Db,
  id: string,
  patch: Partial<Pick<UserRow, 'display_name' | 'status' | 'last_sign_in_at' | 'tokens_valid_after'>>,
): Promise<void> {
  await db.updateTable('users').set(patch).where('id', '=', id).execute();
}

/**
 * The one way a password is set: every user token issued before goes with the old password
 * (a token stolen before a change or a reset must not outlive it). `row` is the user as read
 * in this transaction; `status` activates an invited user in the same statement.
 */
/** Sets a password (generated: one the user did not choose, to be changed); earlier user tokens end. */
export async function setUserPassword(
  db: Db,
  row: Pick<UserRow, 'id' | 'tokens_valid_after'>,
  passwordHash: string,
  now: Date,
  options: { status?: 'active'; generated?: boolean } = {},
): Promise<void> {
  const tokensValidAfter = tokensRevokedAt(now, row.tokens_valid_after);
  await db
    .updateTable('users')
    .set({
      password_hash: passwordHash,
      tokens_valid_after: tokensValidAfter,
      password_generated: options.generated === true ? 1 : 0,
      ...(options.status === undefined ? {} : { status: options.status }),
    })
    .where('id', '=', row.id)
    .execute();
}

export async function deleteUserRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('users').where('id', '=', id).execute();
}

export interface UserQuery {
  limit: number;
  /** The email key and id of the last row of the previous page. */
  after: { emailKey: string; id: string } | undefined;
  /** Case-insensitive substring of the email or the display name. */
  q: string | undefined;
  status: 'active' | 'pending' | undefined;
}

/** One page of users, in email order (a stable keyset: email key, then id). */
export async function listUserRows(db: Db, q: UserQuery): Promise<UserRecord[]> {
  let query = db.selectFrom('users').selectAll();
  if (q.q !== undefined && q.q.trim() !== '') {
    const substring = (text: string) => '%' + text.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
    // The email key is folded as emailKey folds it; the display name as the database lowers it.
    const emailPattern = substring(comparisonKey(q.q.trim()));
    const namePattern = substring(q.q.trim().toLowerCase());
    query = query.where(sql<boolean>`(email_key like ${emailPattern} escape '\\' or lower(display_name) like ${namePattern} escape '\\')`);
  }
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.after !== undefined) {
    const { emailKey, id } = q.after;
    query = query.where(sql<boolean>`(email_key > ${emailKey} or (email_key = ${emailKey} and id > ${id}))`);
  }
  return withUserGrants(db, await query.orderBy('email_key', 'asc').orderBy('id', 'asc').limit(q.limit).execute());
}

// Invitations: found by the SHA-256 of the token in the link; one per user.

export async function insertInvitation(db: Db, row: InvitationRow): Promise<void> {
  await db.insertInto('invitations').values(row).execute();
}

export async function deleteInvitationsOf(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('invitations').where('user_id', '=', userId).execute();
}

/** Deletes the invitation with this token hash; true when this call deleted it (of concurrent claims, one does). */
export async function claimInvitation(db: Db, tokenHash: string): Promise<boolean> {
  const result = await db.deleteFrom('invitations').where('token_hash', '=', tokenHash).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function findInvitation(db: Db, tokenHash: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** When each of these users' invitation expires (pending users only have one). */
export async function invitationExpiries(db: Db, userIds: readonly string[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('invitations')
    .select(['user_id', 'expires_at'])
    .where('user_id', 'in', [...userIds])
    .execute();
  return new Map(rows.map((r) => [r.user_id, r.expires_at]));
}
