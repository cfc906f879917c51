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
}

import { validationFailed } from '../http/errors.ts';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** Trims and checks an email address; throws a validation error naming the field. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim();
  if (!EMAIL.test(email) || !email.split('@')[1]?.includes('.') && !email.endsWith('@localhost') && !email.endsWith('.local')) {
    throw validationFailed('email', 'must be an email address');
  }
  return email;
}

/** The form of an email the unique index compares. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

export const DISPLAY_NAME_MAX_LENGTH = 100;
/** How long an invitation link stays valid. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
// C0 and C1 control characters, plus the Unicode line and paragraph separators.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Trims and checks a display name; throws a validation error naming the field. */
export function normalizeDisplayName(raw: string): string {
  const name = raw.normalize('NFC').trim();
  if (name.length === 0 || [...name].length > DISPLAY_NAME_MAX_LENGTH) {
    throw validationFailed('displayName', `must be 1–${DISPLAY_NAME_MAX_LENGTH} characters`);
  }
  if (CONTROL_CHARACTERS.test(name)) throw validationFailed('displayName', 'must not contain control characters');
  return name;
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
export function principalForUser(
  user: Pick<User, 'id' | 'email' | 'roles'>,
  via: 'user-token' | 'session',
  session?: { id: string; csrfToken: string },
): Principal {
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
