import { createHash, randomBytes } from 'node:crypto';

/** The cookie's name; with https the `__Host-` prefix makes browsers refuse it from any other origin or path. */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-tessera_session' : 'tessera_session';
}

/** A session id (the cookie's value) or a CSRF token: 256 random bits. */
export function newSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function isSessionSecretShaped(value: string): boolean {
  return SECRET_SHAPE.test(value);
}

/** What the sessions table stores instead of the id: its SHA-256, hex. */
export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/**
 * Activity is written at most this often per session (not on every request); the idle check
 * uses the stored time, so a session can end up to this much early, never late.
 */
export function touchIntervalMs(idleMs: number): number {
  return Math.min(60_000, Math.floor(idleMs / 4));
}
