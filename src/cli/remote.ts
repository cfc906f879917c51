import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AccessKey } from '../access-keys/access-key.ts';
import { nameKey } from '../access-keys/access-key.ts';
import type { AccessKeyChanges, NewAccessKey, RollOptions } from '../access-keys/access-key.service.ts';
import { ConfigError } from '../config.ts';
import type { User } from '../users/user.ts';
import {
  type CliBackend,
  everyPage,
  type KeyFilter,
  type KeyWithToken,
  listQueryStatus,
  narrowByStatus,
  type NewUser,
  sameEmail,
  type UserAccess,
  userNotFound,
} from './backend.ts';

type Env = Record<string, string | undefined>;

/** A server's address and a key for it, as `tessera login` stores them. */
export interface RemoteLogin {
  url: string;
  token: string;
}

/** `$XDG_CONFIG_HOME/tessera` (or `~/.config/tessera`): where `tessera login` keeps the key. */
export function configDir(env: Env = process.env): string {
  const xdg = env['XDG_CONFIG_HOME']?.trim();
  return join(xdg !== undefined && xdg !== '' ? xdg : join(env['HOME'] ?? homedir(), '.config'), 'tessera');
}

function loginFile(env: Env): string {
  return join(configDir(env), 'login.json');
}

/** A server address as the CLI uses it: an http(s) origin and path, without a trailing slash. */
export function normalizeServerUrl(raw: string, source: string): string {
  try {
    const url = new URL(raw.trim());
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') throw new Error('not http');
    return url.origin + url.pathname.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(`${source}="${raw}" is not an http(s) URL: give the address of a Tessera server, for example https://tessera.example.com.`);
  }
}

export function readLogin(env: Env = process.env): RemoteLogin | undefined {
  const file = loginFile(env);
  if (!existsSync(file)) return undefined;
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<RemoteLogin>;
    if (typeof stored.url === 'string' && typeof stored.token === 'string') return { url: stored.url, token: stored.token };
  } catch {
    // Unreadable: as if absent; `tessera login` writes it again.
  }
  return undefined;
}

/** Forgets the stored login; false when there was none. */
export function removeLogin(env: Env = process.env): boolean {
  const file = loginFile(env);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}

/** Writes the login with mode 0600 in a 0700 folder, replacing the previous one whole. */
export function writeLogin(login: RemoteLogin, env: Env = process.env): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = loginFile(env);
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  chmodSync(partial, 0o600);
  renameSync(partial, file);
  return file;
}

/**
 * The server the `keys` and `users` commands go to, if any: `--url`, else TESSERA_URL, else
 * the one `tessera login` stored (unless `--data-dir` asks for a database). The key is
 * TESSERA_TOKEN, else the stored one (only for the server it was stored for).
 */
export function remoteTarget(options: { url?: string | undefined; dataDir?: string | undefined }, env: Env = process.env): RemoteLogin | undefined {
  const given = options.url ?? (env['TESSERA_URL']?.trim() || undefined);
  const stored = readLogin(env);
  if (given === undefined && options.dataDir !== undefined) return undefined;
  const url = given === undefined ? stored?.url : normalizeServerUrl(given, options.url !== undefined ? '--url' : 'TESSERA_URL');
  if (url === undefined) return undefined;
  const token = env['TESSERA_TOKEN']?.trim() || (stored?.url === url ? stored.token : undefined);
  if (token === undefined) {
    throw new ConfigError(`No key for ${url}: set TESSERA_TOKEN to a Global Admin's access key, or run \`tessera login --url ${url}\`.`);
  }
  return { url, token };
}

/** A problem+json answer, said in one line. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The commands run through a server's HTTP API (`/api/v1/access-keys`, `/api/v1/users`) with a Global Admin's key. */
export class RemoteBackend implements CliBackend {
  constructor(private readonly login: RemoteLogin) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.login.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.login.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new RemoteError(0, `cannot reach ${this.login.url} (${cause?.code ?? cause?.message ?? (error as Error).message})`);
    }
    const text = await response.text();
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`;
      try {
        const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
        if (typeof problem.detail === 'string') detail = problem.detail;
        else if (typeof problem.title === 'string') detail = problem.title;
      } catch {
        // Not problem+json (a proxy's page): the status line says enough.
      }
      if (response.status === 401) detail += ` (the server refused the key given for ${this.login.url})`;
      throw new RemoteError(response.status, detail);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  async createKey(input: NewAccessKey): Promise<KeyWithToken> {
    const { token, ...key } = await this.request<AccessKey & { token: string }>('POST', '/api/v1/access-keys', input);
    return { key, token };
  }

  async listKeys(filter: KeyFilter & { status?: string | undefined }): Promise<AccessKey[]> {
    const query = new URLSearchParams({ limit: '200' });
    const status = listQueryStatus(filter.status);
    for (const [name, value] of [
      ['name', filter.name],
      ['role', filter.role],
      ['status', status],
    ] as const) {
      if (value !== undefined) query.set(name, value);
    }
    const keys = await everyPage((cursor) => {
      if (cursor !== undefined) query.set('cursor', cursor);
      return this.request<{ items: AccessKey[]; nextCursor: string | null }>('GET', `/api/v1/access-keys?${query}`);
    });
    return narrowByStatus(keys, filter.status as KeyFilter['status']);
  }

  /** The key named so, compared as the server's unique index compares names; an exact spelling wins. */
  async getKey(name: string): Promise<AccessKey> {
    const typed = name.normalize('NFC').trim();
    const candidates = await this.listKeys({ name: typed });
    const key = candidates.find((k) => k.name === typed) ?? candidates.find((k) => nameKey(k.name) === nameKey(typed));
    if (key === undefined) throw new RemoteError(404, `The access key "${typed}" was not found.`);
    return key;
  }

  async updateKey(name: string, changes: AccessKeyChanges): Promise<AccessKey> {
    return this.request<AccessKey>('PATCH', `/api/v1/access-keys/${(await this.getKey(name)).id}`, changes);
  }

  async rollKey(name: string, options: RollOptions): Promise<KeyWithToken> {
    const { token, ...key } = await this.request<AccessKey & { token: string }>('POST', `/api/v1/access-keys/${(await this.getKey(name)).id}/roll`, options);
    return { key, token };
  }

  async removeKey(name: string): Promise<AccessKey> {
    const key = await this.getKey(name);
    await this.request('DELETE', `/api/v1/access-keys/${key.id}`);
    return key;
  }

  /** Through the API a user is invited: the link sets their password (the API takes no password). */
  async createUser(input: NewUser): Promise<UserAccess> {
    if (input.password !== undefined) {
      throw new RemoteError(0, 'a password cannot be set through the API: leave out --password-stdin, and pass the invitation link on');
    }
    const { invitationUrl, ...user } = await this.request<User & { invitationUrl: string }>('POST', '/api/v1/users', {
      email: input.email,
      displayName: input.displayName,
      roles: input.roles,
    });
    return { user, invitationUrl };
  }

  listUsers(): Promise<User[]> {
    return everyPage((cursor) => this.request('GET', `/api/v1/users?${new URLSearchParams({ limit: '200', ...(cursor === undefined ? {} : { cursor }) })}`));
  }

  async getUser(email: string): Promise<User> {
    const query = new URLSearchParams({ limit: '200', q: email.trim() });
    const matches = await everyPage<User>((cursor) => {
      if (cursor !== undefined) query.set('cursor', cursor);
      return this.request('GET', `/api/v1/users?${query}`);
    });
    const user = matches.find((u) => sameEmail(u.email, email));
    if (user === undefined) throw userNotFound(email);
    return user;
  }

  async removeUser(email: string): Promise<User> {
    const user = await this.getUser(email);
    await this.request('DELETE', `/api/v1/users/${user.id}`);
    return user;
  }

  async resetPassword(email: string): Promise<UserAccess> {
    const user = await this.getUser(email);
    if (user.status === 'pending') {
      const { invitationUrl } = await this.request<{ invitationUrl: string }>('POST', `/api/v1/users/${user.id}/invitation`);
      return { user, invitationUrl };
    }
    const { password } = await this.request<{ password: string }>('POST', `/api/v1/users/${user.id}/password-reset`);
    return { user, password };
  }
}
