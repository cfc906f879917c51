import type { AccountScope, Grant, Permission } from './permissions.ts';

/** Who is calling, resolved fresh from the current state of the key, user or session. */
export interface Principal {
  readonly kind: 'access-key' | 'user';
  readonly id: string;
  /** How the audit log names this caller: `key:<name>` or the user's email. */
  readonly actor: string;
  readonly via: 'api-key' | 'user-token' | 'session';
  readonly grants: readonly Grant[];
  readonly permissions: ReadonlySet<Permission>;
  readonly scope: AccountScope;
  /** Session only: the id and the CSRF token state-changing requests must echo. */
  readonly session?: { readonly id: string; readonly csrfToken: string };
}

/** Who did a change, for the audit log: a principal, the CLI, or the system itself. */
export interface Actor {
  readonly name: string;
  readonly ip: string | null;
}

export const CLI_ACTOR: Actor = Object.freeze({ name: 'cli', ip: null });
export const SYSTEM_ACTOR: Actor = Object.freeze({ name: 'system', ip: null });
