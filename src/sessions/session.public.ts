import type { Db } from '../db/database.ts';
import { deleteOtherSessionsOf } from './session.repository.ts';

// What other features may do to sessions, inside their own transaction (`db`); the sessions
// table is written by this feature alone.

/**
 * Ends a user's sessions: every one, or every one but `keepHash` (the session making a
 * password change). Returns how many ended.
 */
export function endSessionsOf(db: Db, userId: string, keepHash?: string): Promise<number> {
  return deleteOtherSessionsOf(db, userId, keepHash);
}
