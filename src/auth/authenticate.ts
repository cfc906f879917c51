import type { FastifyRequest } from 'fastify';
import { MAX_TOKEN_LENGTH, TokenService, type TokenKind } from './tokens.ts';
import type { Principal } from './principal.ts';

/**
 * A valid credential refused for how it is used now (from outside its allowlist, over its rate
 * limit): answered with its own code, and not a failed authentication.
 */
export interface UseRefusal {
  code: 'ip_not_allowed' | 'rate_limited';
  detail: string;
  headers?: Record<string, string>;
}

/**
 * Denials are values (with a reason for the log); failures such as a database outage throw.
 * `headers` go on the answer (a key's rate limit state); `at`, when given, is the clock's reading
 * the credential was checked at (the key's activity record files the request under it).
 */
export type AuthResult = { ok: true; principal: Principal; headers?: Record<string, string>; at?: Date } | { ok: false; reason: string; refusal?: UseRefusal };

/** Verifies one kind of bearer token into a principal; synchronously when a cache answers. */
export type BearerVerifier = (token: string, request: FastifyRequest) => AuthResult | Promise<AuthResult>;

/** Resolves a session cookie into a principal, or `undefined` when the request carries none. */
export type SessionResolver = (request: FastifyRequest) => Promise<AuthResult | undefined>;

const BEARER_SCHEME = /^bearer[ \t]/i;

/**
 * What follows the `Bearer` scheme, trailing blanks removed. Its form is not checked here: a
 * verifier accepts only the exact text of a token it verified (so anything with a space inside
 * fails there).
 */
function bearerToken(header: string): string | undefined {
  // test() and a scan rather than exec(): no match array made on every request.
  if (!BEARER_SCHEME.test(header)) return undefined;
  let start = 7;
  while (start < header.length && (header.charCodeAt(start) === 32 || header.charCodeAt(start) === 9)) start++;
  const token = header.slice(start).trimEnd();
  return token === '' ? undefined : token;
}

/**
 * Turns a request into a principal. Only two places are read: the `Authorization` header
 * (scheme case-insensitive) and, when a resolver is installed, the session cookie. A token
 * in a query string, a cookie of another name or a body is never looked at.
 */
export class Authenticator {
  readonly #bearer = new Map<TokenKind, BearerVerifier>();
  #session: SessionResolver | undefined;

  useBearer(kind: TokenKind, verifier: BearerVerifier): void {
    this.#bearer.set(kind, verifier);
  }

  useSession(resolver: SessionResolver): void {
    this.#session = resolver;
  }

  /**
   * `undefined` when the request carries no credentials at all. Synchronous when a verifier's
   * cache answers (the hot path allocates no promise); a promise otherwise.
   */
  authenticate(request: FastifyRequest): AuthResult | undefined | Promise<AuthResult | undefined> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      // Oversized credentials are refused before any parsing.
      if (header.length > MAX_TOKEN_LENGTH + 16) return { ok: false, reason: 'oversized' };
      const token = bearerToken(header);
      if (token === undefined) return { ok: false, reason: 'not-bearer' };
      const kind = TokenService.peekKind(token);
      const verifier = kind === undefined ? undefined : this.#bearer.get(kind);
      if (verifier === undefined) return { ok: false, reason: 'unknown-token-type' };
      return verifier(token, request);
    }
    return this.#session?.(request);
  }
}
