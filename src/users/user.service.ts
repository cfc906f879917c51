import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { replaceGrants, storeGrants, validateGrants } from '../auth/grants.ts';
import { generatePassword, hashPassword } from '../auth/passwords.ts';
import { codePointLength, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../shared/limits.ts';
import { isGlobalAdmin, type Grant } from '../auth/permissions.ts';
import { SYSTEM_ACTOR, type Actor } from '../auth/principal.ts';
import { isUniqueViolation } from '../db/database.ts';
import type { Database, UserRow } from '../db/schema.ts';
import { existingAccountIds } from '../cloud-accounts/cloud-account.service.ts';
import type { Transactions, Work } from '../db/transactions.ts';
import { AppError, notFound, validationFailed } from '../http/errors.ts';
import { endSessionsOf } from '../sessions/session.public.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import { emailKey, INVITATION_TTL_MS, normalizeDisplayName, normalizeEmail, type User } from './user.ts';
import {
  claimInvitation,
  countUsers,
  deleteInvitationsOf,
  deleteUserRow,
  findInvitation,
  findUserRow,
  insertInvitation,
  insertUser,
  invitationExpiries,
  listUserRows,
  rowToUser,
  setUserPassword,
  updateUserRow,
  type UserRecord,
} from './user.repository.ts';

/** A user as the users API shows it to an admin: with when a pending invitation expires. */
export type ManagedUser = User & { invitationExpiresAt: string | null };

/** A new invitation link: the token inside it is shown once, only its hash is kept. */
export interface Invitation {
  invitationUrl: string;
  invitationExpiresAt: string;
}

export interface UserListOptions {
  limit?: number | undefined;
  cursor?: string | undefined;
  q?: string | undefined;
  status?: 'active' | 'pending' | undefined;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export function hashInvitationToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Checks a new password against the rules; throws a validation error at the body's `pointer`. */
export function checkNewPassword(password: string, pointer = '/password'): void {
  if (codePointLength(password) < MIN_PASSWORD_LENGTH) throw validationFailed(pointer, `must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (codePointLength(password) > MAX_PASSWORD_LENGTH) throw validationFailed(pointer, `must have at most ${MAX_PASSWORD_LENGTH} characters`);
}

export const DEFAULT_ADMIN_EMAIL = 'admin@tessera.local';

/** The console's people. */
export class UserService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
    private readonly clock: () => Date,
    /** Invitation links are built from it. */
    private readonly publicUrl: string,
  ) {}

  /** Adds an active user with a password (given, or generated and returned once). */
  async createActive(
    actor: Actor,
    input: { email: string; displayName?: string | undefined; roles: Grant[]; password?: string | undefined },
  ): Promise<{ user: User; generatedPassword?: string }> {
    const email = normalizeEmail(input.email);
    const displayName = normalizeDisplayName(input.displayName ?? email.split('@')[0] ?? email);
    if (input.password !== undefined) checkNewPassword(input.password);
    const generatedPassword = input.password === undefined ? generatePassword() : undefined;
    const passwordHash = await hashPassword(input.password ?? (generatedPassword as string));
    try {
      const user = await this.transactions.run(actor, async (work) => {
        const roles = await validateGrants(work.trx, input.roles, existingAccountIds);
        const row = {
          id: randomUUID(),
          email,
          email_key: emailKey(email),
          display_name: displayName,
          status: 'active',
          is_primary: 0,
          password_hash: passwordHash,
          created_at: work.now.toISOString(),
          last_sign_in_at: null,
          tokens_valid_after: null,
          password_generated: generatedPassword === undefined ? 0 : 1,
        };
        await insertUser(work.trx, row);
        await storeGrants(work.trx, 'user', row.id, roles);
        work.audit({ category: 'users', resource: email, resourceId: row.id, action: 'add', detail: { email, displayName, roles } });
        return rowToUser({ ...row, grants: roles });
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
          status: 'active',
          is_primary: 1,
          password_hash: passwordHash,
          created_at: work.now.toISOString(),
          last_sign_in_at: null,
          tokens_valid_after: null,
          password_generated: generatedPassword === undefined ? 0 : 1,
        };
        const grants: Grant[] = [{ role: 'global-admin' }];
        await insertUser(work.trx, row);
        await storeGrants(work.trx, 'user', row.id, grants);
        work.audit({ category: 'users', resource: adminEmail, resourceId: row.id, action: 'add', detail: { email: adminEmail, roles: ['global-admin'], primary: true } });
        return rowToUser({ ...row, grants });
      });
      return generatedPassword === undefined ? { user } : { user, generatedPassword };
    } catch (error) {
      // Another instance created the first user at the same moment.
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  /** One page of users in email order. */
  async list(options: UserListOptions = {}): Promise<{ items: ManagedUser[]; nextCursor: string | null }> {
    const limit = Math.min(options.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let after: { emailKey: string; id: string } | undefined;
    if (options.cursor !== undefined) {
      const [key, id] = decodeCursor(options.cursor, 2) as [string, string];
      after = { emailKey: key, id };
    }
    const rows = await listUserRows(this.db, { limit: limit + 1, after, q: options.q, status: options.status });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = rows.length > limit && last !== undefined ? encodeCursor([last.email_key, last.id]) : null;
    const expiries = await invitationExpiries(
      this.db,
      page.filter((r) => r.status === 'pending').map((r) => r.id),
    );
    return { items: page.map((row) => ({ ...rowToUser(row), invitationExpiresAt: expiries.get(row.id) ?? null })), nextCursor };
  }

  async get(id: string): Promise<ManagedUser> {
    const row = await findUserRow(this.db, id);
    if (row === undefined) throw notFound('The user');
    return this.#managed(this.db, row);
  }

  /** The user as the session shows it; undefined when the user no longer exists. */
  async find(id: string): Promise<User | undefined> {
    const row = await findUserRow(this.db, id);
    return row === undefined ? undefined : rowToUser(row);
  }

  /**
   * Adds a pending user and makes the invitation link (valid seven days) that the admin
   * passes on; the user sets a password by accepting it.
   */
  async invite(actor: Actor, input: { email: string; displayName?: string | undefined; roles: Grant[] }): Promise<ManagedUser & Invitation> {
    const email = normalizeEmail(input.email);
    const displayName = normalizeDisplayName(input.displayName ?? email.split('@')[0] ?? email);
    try {
      return await this.transactions.run(actor, async (work) => {
        const roles = await validateGrants(work.trx, input.roles, existingAccountIds);
        const row: UserRow = {
          id: randomUUID(),
          email,
          email_key: emailKey(email),
          display_name: displayName,
          status: 'pending',
          is_primary: 0,
          password_hash: null,
          created_at: work.now.toISOString(),
          last_sign_in_at: null,
          tokens_valid_after: null,
          password_generated: 0,
        };
        await insertUser(work.trx, row);
        await storeGrants(work.trx, 'user', row.id, roles);
        work.audit({ category: 'users', resource: email, resourceId: row.id, action: 'add', detail: { email, displayName, roles, status: 'pending' } });
        const invitation = await this.#newInvitation(work, row, 'add');
        work.announce({ kind: 'user', id: row.id });
        return { ...rowToUser({ ...row, grants: roles }), ...invitation };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('email_taken', `A user with the email ${email} already exists.`);
      throw error;
    }
  }

  /** Makes a new invitation link for a pending user; the previous link stops working at once. */
  async reinvite(actor: Actor, id: string): Promise<ManagedUser & Invitation> {
    return this.transactions.run(
      actor,
      async (work) => {
        const row = await this.#existing(work, id);
        if (row.status !== 'pending') throw new AppError('conflict', `${row.email} has already accepted the invitation and is active.`);
        await deleteInvitationsOf(work.trx, id);
        const invitation = await this.#newInvitation(work, row, 'replace');
        work.announce({ kind: 'user', id });
        return { ...rowToUser(row), ...invitation };
      },
      { reducesAccess: true },
    );
  }

  /** Changes a user's display name or roles; the user's next request has the new rights. */
  async edit(actor: Actor, id: string, input: { displayName?: string | undefined; roles?: Grant[] | undefined }): Promise<ManagedUser> {
    return this.transactions.run(
      actor,
      async (work) => {
        const row = await this.#existing(work, id);
        const before = { displayName: row.display_name, roles: row.grants };
        const displayName = input.displayName === undefined ? row.display_name : normalizeDisplayName(input.displayName);
        const roles = input.roles === undefined ? before.roles : await validateGrants(work.trx, input.roles, existingAccountIds);
        if (Number(row.is_primary) === 1 && !isGlobalAdmin(roles)) {
          throw new AppError('primary_user_protected', `${row.email} is the primary user and keeps the Global Admin role.`);
        }
        const changes: Record<string, unknown> = {};
        if (displayName !== before.displayName) changes['displayName'] = { before: before.displayName, after: displayName };
        if (JSON.stringify(roles) !== JSON.stringify(before.roles)) changes['roles'] = { before: before.roles, after: roles };
        const updated = { ...row, display_name: displayName, grants: roles };
        if (Object.keys(changes).length > 0) {
          if (changes['displayName'] !== undefined) await updateUserRow(work.trx, id, { display_name: displayName });
          if (changes['roles'] !== undefined) await replaceGrants(work.trx, 'user', id, roles);
          work.audit({ category: 'users', resource: row.email, resourceId: id, action: 'edit', detail: { email: row.email, ...changes } });
          work.announce({ kind: 'user', id });
        }
        return this.#managed(work.trx, updated);
      },
      { reducesAccess: input.roles !== undefined },
    );
  }

  /**
   * Deletes a user, their sessions and any pending invitation. The primary user cannot be
   * deleted, and nobody can delete themselves (`selfId`).
   */
  async remove(actor: Actor, id: string, selfId?: string): Promise<void> {
    await this.transactions.run(
      actor,
      async (work) => {
        const row = await this.#existing(work, id);
        if (Number(row.is_primary) === 1) throw new AppError('primary_user_protected', `${row.email} is the primary user and cannot be deleted.`);
        if (id === selfId) throw new AppError('conflict', 'You cannot delete your own user; ask another Global Admin.');
        const pending = row.status === 'pending';
        await deleteInvitationsOf(work.trx, id);
        await endSessionsOf(work.trx, id);
        await deleteUserRow(work.trx, id);
        work.audit({
          category: 'users',
          resource: row.email,
          resourceId: id,
          action: 'delete',
          detail: pending ? { email: row.email, invitationRevoked: true } : { email: row.email },
        });
        work.announce({ kind: 'user', id });
      },
      { reducesAccess: true },
    );
  }

  /**
   * Sets a new password for a user whose current password was just checked, and ends the
   * user's other sessions (`keepSessionHash`: the one making the change, if any).
   */
  async changePassword(actor: Actor, id: string, newPassword: string, keepSessionHash: string | undefined, generated = false): Promise<void> {
    checkNewPassword(newPassword, '/newPassword');
    const passwordHash = await hashPassword(newPassword);
    await this.transactions.run(
      actor,
      async (work) => {
        const row = await this.#existing(work, id);
        await setUserPassword(work.trx, row, passwordHash, work.now, { generated });
        const sessionsEnded = await endSessionsOf(work.trx, id, keepSessionHash);
        work.audit({
          category: 'users',
          resource: row.email,
          resourceId: id,
          action: 'edit',
          detail: { email: row.email, passwordChanged: true, sessionsEnded, tokensRevoked: true },
        });
        work.announce({ kind: 'user', id });
      },
      { reducesAccess: true },
    );
  }

  /**
   * Gives an active user a new generated password, returned once (for the person who asked to
   * pass on); their sessions and tokens end. A pending user has no password yet: 409.
   */
  async resetPassword(actor: Actor, id: string): Promise<{ user: ManagedUser; password: string }> {
    const user = await this.get(id);
    if (user.status === 'pending') throw new AppError('conflict', `${user.email} has not accepted the invitation yet: make a new invitation link instead.`);
    const password = generatePassword();
    await this.changePassword(actor, id, password, undefined, true);
    return { user: { ...user, passwordGenerated: true }, password };
  }

  /** Who an invitation is for, so the page that accepts it can say so. */
  async inspectInvitation(token: string): Promise<{ email: string; displayName: string; expiresAt: string }> {
    const invitation = await findInvitation(this.db, hashInvitationToken(token));
    const user = invitation === undefined ? undefined : await findUserRow(this.db, invitation.user_id);
    if (invitation === undefined || user === undefined || user.status !== 'pending' || Date.parse(invitation.expires_at) <= this.clock().getTime()) {
      throw invalidInvitation();
    }
    return { email: user.email, displayName: user.display_name, expiresAt: invitation.expires_at };
  }

  /** Sets the password of a pending user and activates them; the link works once. */
  async acceptInvitation(token: string, password: string, ip: string | null): Promise<User> {
    checkNewPassword(password);
    const tokenHash = hashInvitationToken(token);
    const found = await findInvitation(this.db, tokenHash);
    if (found === undefined) throw invalidInvitation();
    // Hashed before the transaction: a slow hash must not hold a database lock.
    const passwordHash = await hashPassword(password);
    const user = await findUserRow(this.db, found.user_id);
    if (user === undefined) throw invalidInvitation();
    return this.transactions.run({ name: user.email, ip }, async (work) => {
      // Deleting the invitation is what claims it: of two concurrent accepts, one deletes it.
      const claimed = await claimInvitation(work.trx, tokenHash);
      const row = await findUserRow(work.trx, found.user_id);
      if (!claimed || row === undefined || row.status !== 'pending') throw invalidInvitation();
      if (Date.parse(found.expires_at) <= work.now.getTime()) throw invalidInvitation();
      await setUserPassword(work.trx, row, passwordHash, work.now, { status: 'active' });
      work.audit({ category: 'invitations', resource: row.email, resourceId: row.id, action: 'accept', detail: { email: row.email } });
      work.announce({ kind: 'user', id: row.id });
      return rowToUser({ ...row, status: 'active', password_hash: passwordHash });
    });
  }

  async #newInvitation(work: Work, row: UserRow, action: 'add' | 'replace'): Promise<Invitation> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(work.now.getTime() + INVITATION_TTL_MS).toISOString();
    await insertInvitation(work.trx, { token_hash: hashInvitationToken(token), user_id: row.id, created_at: work.now.toISOString(), expires_at: expiresAt });
    work.audit({ category: 'invitations', resource: row.email, resourceId: row.id, action, detail: { email: row.email, expiresAt } });
    return { invitationUrl: `${this.publicUrl}/invite/${token}`, invitationExpiresAt: expiresAt };
  }

  async #managed(db: Kysely<Database> | Work['trx'], row: UserRecord): Promise<ManagedUser> {
    const expiries = row.status === 'pending' ? await invitationExpiries(db, [row.id]) : new Map<string, string>();
    return { ...rowToUser(row), invitationExpiresAt: expiries.get(row.id) ?? null };
  }

  async #existing(work: Work, id: string): Promise<UserRecord> {
    const row = await findUserRow(work.trx, id);
    if (row === undefined) throw notFound('The user');
    return row;
  }
}

function invalidInvitation(): AppError {
  return new AppError('invitation_invalid', 'This invitation link is invalid, was already used, or has expired: ask an administrator for a new one.');
}
