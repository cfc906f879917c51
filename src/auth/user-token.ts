import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { findUserById, recordSignIn, rowToUser, type UserRecord } from '../users/user.public.ts';
import { principalForUser } from '../users/user.ts';
import type { AuthResult, BearerVerifier } from './authenticate.ts';
import type { TokenService } from './tokens.ts';

/** How long a user token from `POST /api/v1/token` is valid. */
export const USER_TOKEN_TTL_SECONDS = 60 * 60;

/**
 * Users' short-lived API tokens (JWTs with their own `typ`, so an API key can never pass for
 * one nor the reverse). A token names the user; the user's roles are read at each request,
 * so an edit applies at once and a deleted user's token is refused; so is a token issued
 * before the user's password changed or the user signed out everywhere (`tokens_valid_after`).
 */
export class UserTokens {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tokens: TokenService,
    private readonly transactions: Transactions,
  ) {}

  /** Issues a token for a user whose password was just checked, and records the sign-in. */
  async issue(user: UserRecord, ip: string): Promise<{ token: string; expiresIn: number }> {
    return this.transactions.run({ name: user.email, ip }, async (work) => {
      // Whole seconds, as the token's `iat` and `exp` are; never before the user's last
      // revocation (which is rounded up to the next second), or the new token would be dead too.
      const validAfter = user.tokens_valid_after === null ? 0 : Date.parse(user.tokens_valid_after);
      const issuedAt = new Date(Math.max(Math.floor(work.now.getTime() / 1000) * 1000, validAfter));
      const expiresAt = new Date(issuedAt.getTime() + USER_TOKEN_TTL_SECONDS * 1000);
      const { token } = await this.tokens.issue('user', user.id, issuedAt, expiresAt);
      await recordSignIn(work, user);
      work.audit({
        category: 'session',
        resource: user.email,
        resourceId: user.id,
        action: 'sign-in',
        detail: { email: user.email, via: 'token', expiresAt: expiresAt.toISOString() },
      });
      return { token, expiresIn: USER_TOKEN_TTL_SECONDS };
    });
  }

  /** The bearer verifier for `typ` user tokens. */
  readonly verify: BearerVerifier = async (token): Promise<AuthResult> => {
    const check = await this.tokens.verify('user', token);
    if (!check.ok) return check;
    const row = await findUserById(this.db, check.claims.sub);
    if (row === undefined) return { ok: false, reason: 'user-removed' };
    if (row.status !== 'active') return { ok: false, reason: 'user-not-active' };
    // Revoked by a password change or a sign-out everywhere (read with the row: no query of its own).
    if (row.tokens_valid_after !== null && check.claims.iat * 1000 < Date.parse(row.tokens_valid_after)) return { ok: false, reason: 'token-revoked' };
    return { ok: true, principal: principalForUser(rowToUser(row), 'user-token') };
  };
}
