import { accountScopeOf, permissionsOf, type Grant } from '../auth/permissions.ts';
import type { Principal } from '../auth/principal.ts';

/** A person who signs in to the console. */
export interface User {
  id: string;
  email: string;
  displayName: string;
  roles: Grant[];
  status: 'active' | 'pending';
  primary: boolean;
  createdAt: string;
  lastSignInAt: string | null;
  /** The password is one Tessera generated and printed once, not changed since. */
  passwordGenerated: boolean;
}

import { validationFailed } from '../http/errors.ts';
import { DISPLAY_NAME_MAX_LENGTH, EMAIL_MAX_LENGTH } from '../shared/limits.ts';
import { comparisonKey, normalizeVisibleText } from '../util/names.ts';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** NFC, trimmed, without invisible or control characters, and shaped like an address; throws a validation error naming the field. */
export function normalizeEmail(raw: string): string {
  const email = normalizeVisibleText(raw, '/email', EMAIL_MAX_LENGTH);
  if (!EMAIL.test(email) || (!email.split('@')[1]?.includes('.') && !email.endsWith('@localhost') && !email.endsWith('.local'))) {
    throw validationFailed('/email', 'must be an email address');
  }
  return email;
}

/**
 * The form of an email the unique index compares and sign-in looks users up by: NFKC and case
 * folded (the same rule as access-key names).
 */
export function emailKey(email: string): string {
  return comparisonKey(email.trim());
}

/** How long an invitation link stays valid. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** NFC, trimmed, 1–100 visible characters (the same rules as access-key names); throws a validation error naming the field. */
export function normalizeDisplayName(raw: string): string {
  return normalizeVisibleText(raw, '/displayName', DISPLAY_NAME_MAX_LENGTH);
}

/**
 * What a user's `tokens_valid_after` becomes when their tokens are revoked at `now`: the next
 * whole second, or one past the previous revocation if that is later. A token's `iat` is in
 * whole seconds, so one issued earlier in this second cannot be told apart from the ones
 * before; it goes too, and tokens issued from now on are dated no earlier than this
 * (UserTokens.issue), which is why a second revocation must move past the first.
 */
export function tokensRevokedAt(now: Date, previous: string | null): string {
  const next = (Math.floor(now.getTime() / 1000) + 1) * 1000;
  const afterPrevious = previous === null ? 0 : Date.parse(previous) + 1000;
  return new Date(Math.max(next, afterPrevious)).toISOString();
}

/**
 * The principal of a signed-in user, built from the user's roles as they are now (the
 * caller reads the user fresh for each request, so an edit applies to the next one).
 */
export function principalForUser(user: Pick<User, 'id' | 'email' | 'roles'>, via: 'user-token' | 'session', session?: { id: string; csrfToken: string }): Principal {
  const grants = user.roles;
  return Object.freeze({
    kind: 'user' as const,
    id: user.id,
    actor: user.email,
    via,
    grants,
    permissions: permissionsOf(grants),
    scope: accountScopeOf(grants),
    ...(session === undefined ? {} : { session: Object.freeze({ ...session }) }),
  });
}
