import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { validateGrants } from '../auth/grants.ts';
import { generatePassword, hashPassword, MIN_PASSWORD_LENGTH } from '../auth/passwords.ts';
import type { Grant } from '../auth/permissions.ts';
import { SYSTEM_ACTOR, type Actor } from '../auth/principal.ts';
import { isUniqueViolation } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { AppError, validationFailed } from '../http/errors.ts';
import { emailKey, normalizeEmail, type User } from './user.ts';
import { countUsers, insertUser, rowToUser } from './user.repository.ts';

export const DEFAULT_ADMIN_EMAIL = 'admin@tessera.local';

/** The console's people. */
export class UserService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
    private readonly clock: () => Date,
  ) {}

  /** Adds an active user with a password (given, or generated and returned once). */
  async createActive(
    actor: Actor,
    input: { email: string; displayName?: string | undefined; roles: Grant[]; password?: string | undefined },
  ): Promise<{ user: User; generatedPassword?: string }> {
    const email = normalizeEmail(input.email);
    const displayName = (input.displayName ?? email.split('@')[0] ?? email).trim();
    if (displayName.length === 0 || displayName.length > 100) throw validationFailed('displayName', 'must be 1–100 characters');
    if (input.password !== undefined && input.password.length < MIN_PASSWORD_LENGTH) {
      throw validationFailed('password', `must have at least ${MIN_PASSWORD_LENGTH} characters`);
    }
    const generatedPassword = input.password === undefined ? generatePassword() : undefined;
    const passwordHash = await hashPassword(input.password ?? (generatedPassword as string));
    try {
      const user = await this.transactions.run(actor, async (work) => {
        const roles = await validateGrants(work.trx, input.roles);
        const row = {
          id: randomUUID(),
          email,
          email_key: emailKey(email),
          display_name: displayName,
          roles: JSON.stringify(roles),
          status: 'active',
          is_primary: 0,
          password_hash: passwordHash,
          created_at: work.now.toISOString(),
          last_sign_in_at: null,
        };
        await insertUser(work.trx, row);
        await work.audit({ category: 'users', resource: email, resourceId: row.id, action: 'add', detail: { email, displayName, roles } });
        return rowToUser(row);
      });
      return generatedPassword === undefined ? { user } : { user, generatedPassword };
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('email_taken', `A user with the email ${email} already exists.`);
      throw error;
    }
  }

  /**
   * Creates the primary Global Admin when no user exists yet: with the configured email and
   * password, or with a generated password that is returned so it can be printed once.
   */
  async ensureFirstAdmin(email: string | undefined, password: string | undefined): Promise<{ user: User; generatedPassword?: string } | undefined> {
    if ((await countUsers(this.db)) > 0) return undefined;
    const generatedPassword = password === undefined ? generatePassword() : undefined;
    const adminEmail = (email ?? DEFAULT_ADMIN_EMAIL).trim();
    const passwordHash = await hashPassword(password ?? (generatedPassword as string));
    try {
      const user = await this.transactions.run(SYSTEM_ACTOR, async (work) => {
        const row = {
          id: randomUUID(),
          email: adminEmail,
          email_key: emailKey(adminEmail),
          display_name: 'Administrator',
          roles: JSON.stringify([{ role: 'global-admin' }]),
          status: 'active',
          is_primary: 1,
          password_hash: passwordHash,
          created_at: work.now.toISOString(),
          last_sign_in_at: null,
        };
        await insertUser(work.trx, row);
        await work.audit({ category: 'users', resource: adminEmail, resourceId: row.id, action: 'add', detail: { email: adminEmail, roles: ['global-admin'], primary: true } });
        return rowToUser(row);
      });
      return generatedPassword === undefined ? { user } : { user, generatedPassword };
    } catch (error) {
      // Another instance created the first user at the same moment.
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }
}
