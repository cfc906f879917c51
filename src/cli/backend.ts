import type { AccessKey } from '../access-keys/access-key.ts';
import type { AccessKeyChanges, AccessKeyListOptions, NewAccessKey, RollOptions } from '../access-keys/access-key.service.ts';
import type { Grant } from '../auth/permissions.ts';
import { CLI_ACTOR } from '../auth/principal.ts';
import type { Context } from '../context.ts';
import { AppError } from '../http/errors.ts';
import { emailKey, type User } from '../users/user.ts';

/** A key with its new token, shown once. */
export interface KeyWithToken {
  key: AccessKey;
  token: string;
}

/** What `keys list` filters on. */
export type KeyFilter = Pick<AccessKeyListOptions, 'name' | 'role' | 'status'>;

export interface NewUser {
  email: string;
  displayName?: string | undefined;
  roles: Grant[];
  password?: string | undefined;
}

/** A user just made or reset: the one-time secret that gets them in, exactly one of the two. */
export interface UserAccess {
  user: User;
  password?: string;
  invitationUrl?: string;
}

/**
 * Where the `keys` and `users` commands act: on the database directly (the server's data
 * folder or DATABASE_URL), or through a server's HTTP API with a Global Admin's key (remote
 * mode). Keys are addressed by name and users by email, as a person types them.
 */
export interface CliBackend {
  createKey(input: NewAccessKey): Promise<KeyWithToken>;
  listKeys(filter: KeyFilter): Promise<AccessKey[]>;
  getKey(name: string): Promise<AccessKey>;
  updateKey(name: string, changes: AccessKeyChanges): Promise<AccessKey>;
  rollKey(name: string, options: RollOptions): Promise<KeyWithToken>;
  removeKey(name: string): Promise<AccessKey>;
  createUser(input: NewUser): Promise<UserAccess>;
  listUsers(): Promise<User[]>;
  getUser(email: string): Promise<User>;
  removeUser(email: string): Promise<User>;
  /** An active user gets a new generated password (their sessions and tokens end); a pending one a new invitation link. */
  resetPassword(email: string): Promise<UserAccess>;
}

/** Pages through a cursor-paginated list to its end. */
export async function everyPage<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/** Emails compare as the server's unique index compares them. */
export function sameEmail(a: string, b: string): boolean {
  return emailKey(a) === emailKey(b);
}

export function userNotFound(email: string): AppError {
  return new AppError('not_found', `No user has the email ${email.trim()}.`);
}

/**
 * `status` filters the list as `keys list --status` means it. The list query knows active,
 * expired and expiring; disabled (and active, which there includes disabled keys) is
 * narrowed here by each key's own status.
 */
export function narrowByStatus(keys: AccessKey[], status: KeyFilter['status'] | 'disabled'): AccessKey[] {
  return status === 'active' || status === 'expired' || status === 'disabled' ? keys.filter((k) => k.status === status) : keys;
}

/** The list query for a `keys list` filter: the status filter the query has, or none. */
export function listQueryStatus(status: string | undefined): KeyFilter['status'] {
  return status === 'disabled' ? undefined : (status as KeyFilter['status']);
}

/** The commands run on the database, as the CLI actor. */
export class LocalBackend implements CliBackend {
  constructor(private readonly ctx: Context) {}

  createKey(input: NewAccessKey): Promise<KeyWithToken> {
    return this.ctx.accessKeys.create(CLI_ACTOR, input);
  }

  async listKeys(filter: KeyFilter & { status?: string | undefined }): Promise<AccessKey[]> {
    const query = { name: filter.name, role: filter.role, status: listQueryStatus(filter.status) };
    const keys = await everyPage((cursor) => this.ctx.accessKeys.list({ ...query, limit: 200, cursor }));
    return narrowByStatus(keys, filter.status as KeyFilter['status']);
  }

  getKey(name: string): Promise<AccessKey> {
    return this.ctx.accessKeys.getByName(name);
  }

  async updateKey(name: string, changes: AccessKeyChanges): Promise<AccessKey> {
    return this.ctx.accessKeys.update(CLI_ACTOR, (await this.getKey(name)).id, changes);
  }

  async rollKey(name: string, options: RollOptions): Promise<KeyWithToken> {
    return this.ctx.accessKeys.roll(CLI_ACTOR, (await this.getKey(name)).id, options);
  }

  async removeKey(name: string): Promise<AccessKey> {
    const key = await this.getKey(name);
    await this.ctx.accessKeys.remove(CLI_ACTOR, key.id);
    return key;
  }

  async createUser(input: NewUser): Promise<UserAccess> {
    const { user, generatedPassword } = await this.ctx.users.createActive(CLI_ACTOR, input);
    return generatedPassword === undefined ? { user } : { user, password: generatedPassword };
  }

  listUsers(): Promise<User[]> {
    return everyPage((cursor) => this.ctx.users.list({ limit: 200, cursor }));
  }

  async getUser(email: string): Promise<User> {
    const matches = await everyPage((cursor) => this.ctx.users.list({ q: email.trim(), limit: 200, cursor }));
    const user = matches.find((u) => sameEmail(u.email, email));
    if (user === undefined) throw userNotFound(email);
    return user;
  }

  async removeUser(email: string): Promise<User> {
    const user = await this.getUser(email);
    await this.ctx.users.remove(CLI_ACTOR, user.id);
    return user;
  }

  async resetPassword(email: string): Promise<UserAccess> {
    const user = await this.getUser(email);
    if (user.status === 'pending') {
      const { invitationUrl } = await this.ctx.users.reinvite(CLI_ACTOR, user.id);
      return { user, invitationUrl };
    }
    const { password } = await this.ctx.users.resetPassword(CLI_ACTOR, user.id);
    return { user, password };
  }
}
