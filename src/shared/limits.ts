/**
 * The limits a client can meet, in one module that the server enforces and the console
 * (web/) imports to check forms before sending, so the two never disagree. Lengths are in
 * characters as a person counts them: Unicode code points, not UTF-16 units (an emoji is one
 * character, as on the server). This module imports nothing: the console bundles it.
 */

/** An access key's name, once trimmed (visibleLength). */
export const ACCESS_KEY_NAME_MAX_LENGTH = 64;
/** A user's or a cloud account's (or credential's) display name, once trimmed (visibleLength). */
export const DISPLAY_NAME_MAX_LENGTH = 100;
/** An email, once trimmed: more than any address has (RFC 5321: 254 octets in a path). */
export const EMAIL_MAX_LENGTH = 320;
/** A new password, in code points. */
export const MIN_PASSWORD_LENGTH = 12;
/** Longer passwords are refused before hashing (a bound on work, far above any real password). */
export const MAX_PASSWORD_LENGTH = 1024;
/** The most days a custom key expiration may have unless TESSERA_MAX_KEY_DAYS says otherwise. */
export const DEFAULT_MAX_KEY_DAYS = 730;
/** An access key's description, once trimmed (visibleLength). */
export const ACCESS_KEY_DESCRIPTION_MAX_LENGTH = 500;
/** The longest grace period of a roll, in minutes (7 days), and the default. */
export const MAX_ROLL_GRACE_MINUTES = 10_080;
export const DEFAULT_ROLL_GRACE_MINUTES = 60;
/** Roles in one grant list (a key's or a user's). */
export const MAX_ROLES = 20;
/** A cloud account's status detail. */
export const STATUS_DETAIL_MAX_LENGTH = 500;

/** The number of characters (Unicode code points) in `text`. */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** How long a name is as the server stores and limits it: code points after NFC and trimming. */
export function visibleLength(raw: string): number {
  return codePointLength(raw.normalize('NFC').trim());
}
/** Addresses and CIDR ranges in one key's network allowlist. */
export const MAX_ALLOWED_CIDRS = 50;
/** A key's rate limit: requests per window, from 1 to this. */
export const MAX_RATE_LIMIT_REQUESTS = 1_000_000;
/** A key's rate limit window, in seconds: from 1 to a day. */
export const MAX_RATE_LIMIT_SECONDS = 86_400;
