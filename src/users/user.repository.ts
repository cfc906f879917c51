import { parseStoredGrants } from '../auth/grants.ts';
import type { Db } from '../db/database.ts';
import type { UserRow } from '../db/schema.ts';
import type { User } from './user.ts';

export function rowToUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    roles: parseStoredGrants(row.roles),
    status: row.status === 'active' ? 'active' : 'pending',
    primary: Number(row.is_primary) === 1,
    createdAt: row.created_at,
    lastSignInAt: row.last_sign_in_at,
  };
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertUser(db: Db, row: UserRow): Promise<void> {
  await db.insertInto('users').values(row).execute();
}
