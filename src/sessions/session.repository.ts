import type { Db } from '../db/database.ts';
import type { SessionRow } from '../db/schema.ts';
import { JOINED_GRANT_COLUMNS, withJoinedGrants, type UserRecord } from '../users/user.public.ts';

export async function insertSession(db: Db, row: SessionRow): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

/** The session, its user and the user's grants, in one query. */
export async function findSessionWithUser(db: Db, idHash: string): Promise<{ session: SessionRow; user: UserRecord } | undefined> {
  const rows = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .leftJoin('user_grants', 'user_grants.user_id', 'sessions.user_id')
    .select(JOINED_GRANT_COLUMNS)
    .select([
      'sessions.id_hash',
      'sessions.user_id',
      'sessions.csrf_token',
      'sessions.created_at',
      'sessions.last_seen_at',
      'sessions.expires_at',
      'sessions.ip',
      'sessions.user_agent',
      'users.id as u_id',
      'users.email as u_email',
      'users.email_key as u_email_key',
      'users.display_name as u_display_name',
      'users.status as u_status',
      'users.is_primary as u_is_primary',
      'users.password_hash as u_password_hash',
      'users.created_at as u_created_at',
      'users.last_sign_in_at as u_last_sign_in_at',
      'users.tokens_valid_after as u_tokens_valid_after',
      'users.password_generated as u_password_generated',
    ])
    .where('sessions.id_hash', '=', idHash)
    .execute();
  const row = rows[0];
  if (row === undefined) return undefined;
  return {
    session: {
      id_hash: row.id_hash,
      user_id: row.user_id,
      csrf_token: row.csrf_token,
      created_at: row.created_at,
      last_seen_at: row.last_seen_at,
      expires_at: row.expires_at,
      ip: row.ip,
      user_agent: row.user_agent,
    },
    user: withJoinedGrants(
      {
        id: row.u_id,
        email: row.u_email,
        email_key: row.u_email_key,
        display_name: row.u_display_name,
        status: row.u_status,
        is_primary: row.u_is_primary,
        password_hash: row.u_password_hash,
        created_at: row.u_created_at,
        last_sign_in_at: row.u_last_sign_in_at,
        tokens_valid_after: row.u_tokens_valid_after,
        password_generated: row.u_password_generated,
      },
      rows,
    ),
  };
}

/** Records activity; the condition keeps a slower concurrent request from moving it back. */
export async function touchSession(db: Db, idHash: string, at: string): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).where('last_seen_at', '<', at).execute();
}

export async function deleteSession(db: Db, idHash: string): Promise<boolean> {
  const result = await db.deleteFrom('sessions').where('id_hash', '=', idHash).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Deletes sessions past their absolute end or idle since before `idleSince`; returns how many. */
export async function deleteExpiredSessions(db: Db, now: string, idleSince: string): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', idleSince)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Ends a user's sessions except `keepHash` (the one changing the password); returns how many. */
export async function deleteOtherSessionsOf(db: Db, userId: string, keepHash: string | undefined): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepHash !== undefined) query = query.where('id_hash', '!=', keepHash);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}
