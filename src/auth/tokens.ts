import { type KeyObject, randomUUID, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { BoundedCache } from '../util/bounded-cache.ts';
import { andThen, type MaybePromise } from '../util/maybe-async.ts';
import type { SigningKeyStore } from './keystore.ts';
import type { TokenIssuerStore } from './token-issuer.ts';

/** The `typ` of each kind of token: an API key can never pass as a user token, nor the reverse. */
export const TOKEN_TYPES = {
  accessKey: 'tessera-api-key+jwt',
  user: 'tessera-user+jwt',
} as const;
export type TokenKind = keyof typeof TOKEN_TYPES;

export const TOKEN_AUDIENCE = 'tessera-api';

/**
 * The text every API key starts with (docs/SECRET-SCANNING.md): the base64url spelling of the
 * start of its fixed protected header, `{"typ":"tessera-api-key+jwt","alg":"EdDSA","kid":"`.
 * `typ` comes first, so no other product's JWT begins this way; the `kid` comes last, as it
 * varies. 50 header bytes are fixed: 16 whole base64 groups (64 characters) and two more
 * characters that the `kid` does not reach (the 67th is `I` or `J`, by the kid's first character).
 */
export const ACCESS_KEY_PREFIX = 'eyJ0eXAiOiJ0ZXNzZXJhLWFwaS1rZXkrand0IiwiYWxnIjoiRWREU0EiLCJraWQiOi';
/** Longer tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ED25519_SIGNATURE_BYTES = 64;

/** Each base64url character's 6-bit value, by char code (the compact-form test admits no other character). */
const BASE64URL_VALUES = (() => {
  const values = new Uint8Array(128);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
  return values;
})();

/**
 * Whether `text[start, end)` is the one canonical unpadded base64url encoding of its bytes.
 * Decoders ignore the bits of the last character that fall past the final byte, so without
 * this check 4 (or 16) spellings of one segment pass as the same token: a length of 4n+1 is
 * impossible, and the unused low bits of the last character must be zero.
 */
export function isCanonicalBase64url(text: string, start = 0, end = text.length): boolean {
  const tail = (end - start) % 4;
  if (tail === 0) return true;
  if (tail === 1) return false;
  const unusedBits = tail === 2 ? 0b1111 : 0b11;
  return ((BASE64URL_VALUES[text.charCodeAt(end - 1)] ?? 0) & unusedBits) === 0;
}

/**
 * The protected header of a token, members in a fixed order (JSON.stringify keeps it): an API
 * key's starts with its `typ`, so that its first characters are ACCESS_KEY_PREFIX; a user
 * token's keeps the order user tokens always had.
 */
function protectedHeader(kind: TokenKind, kid: string): Record<string, string> {
  return kind === 'accessKey' ? { typ: TOKEN_TYPES.accessKey, alg: 'EdDSA', kid } : { alg: 'EdDSA', kid, typ: TOKEN_TYPES.user };
}

/** A JSON value as a base64url segment. */
function encodeSegment(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * Refuses bytes that are not UTF-8 (a lenient decode would replace them, so two byte strings
 * would read as one claim); keeps a byte-order mark, so that JSON.parse refuses it.
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A base64url JSON segment that must be UTF-8 text of a plain object; `undefined` for anything else. */
function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(STRICT_UTF8.decode(Buffer.from(segment, 'base64url')));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What a protected header says, as far as verification cares. */
interface HeaderFacts {
  /** Not a canonical base64url JSON object. */
  malformed: boolean;
  alg: unknown;
  /** The kind its `typ` names, or null for any other `typ`. */
  kind: TokenKind | null;
  /** `crit` or `b64` present: no extension is understood, and b64=false changes what is signed. */
  extensions: boolean;
  kid: string | undefined;
}

/**
 * Header facts by header text. Every token signed by one key shares one header text, so this
 * stays tiny; it spares both the verifier choice (`peekKind`) and the cold verification a
 * base64 and JSON decode.
 */
const headerFacts = new BoundedCache<string, HeaderFacts>(256);

/**
 * The few header texts whose kind was found last, newest first. A request's token names one
 * of them (one per signing key and kind): comparing its header text with each costs less than
 * hashing it for the map, which `peekKind` would do on every request.
 */
const recentHeaders: Array<{ segment: string; kind: TokenKind }> = [];
const RECENT_HEADERS = 4;

function factsOf(segment: string): HeaderFacts {
  let facts = headerFacts.get(segment);
  if (facts === undefined) {
    const header = isCanonicalBase64url(segment) ? decodeSegment(segment) : undefined;
    const typ = header?.['typ'];
    const kid = header?.['kid'];
    facts = {
      malformed: header === undefined,
      alg: header?.['alg'],
      kind: typ === TOKEN_TYPES.accessKey ? 'accessKey' : typ === TOKEN_TYPES.user ? 'user' : null,
      extensions: header?.['crit'] !== undefined || header?.['b64'] !== undefined,
      kid: typeof kid === 'string' ? kid : undefined,
    };
    headerFacts.set(segment, facts);
  }
  return facts;
}

/** The protected header's checks: `alg` exactly EdDSA, `typ` exactly this kind's, no `crit` or `b64`, a `kid`. */
function checkHeader(kind: TokenKind, facts: HeaderFacts): { ok: true; kid: string } | { ok: false; reason: string } {
  if (facts.malformed) return { ok: false, reason: 'malformed' };
  if (facts.alg !== 'EdDSA') return { ok: false, reason: 'algorithm' };
  if (facts.kind !== kind) return { ok: false, reason: 'type' };
  if (facts.extensions) return { ok: false, reason: 'header' };
  return facts.kid !== undefined ? { ok: true, kid: facts.kid } : { ok: false, reason: 'no-key' };
}

export interface VerifiedClaims {
  sub: string;
  jti: string;
  iat: number;
  exp: number;
}

export type TokenCheck = { ok: true; claims: VerifiedClaims } | { ok: false; reason: string };

/** Issues and verifies Tessera's tokens: compact JWS, EdDSA, with pinned issuer, audience and `typ`. */
export class TokenService {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly issuers: Pick<TokenIssuerStore, 'issuer' | 'accepts' | 'settled'>,
    private readonly clock: () => Date,
  ) {}

  /**
   * Signs a token for `sub`, valid from `issuedAt` (whole seconds) to `expiresAt`: a compact
   * JWS with the header `{typ, alg, kid}` (an API key: see ACCESS_KEY_PREFIX) or `{alg, kid, typ}`
   * (a user token), and the claims `{iss, aud, sub, jti, iat, exp}`,
   * signed with Ed25519 by `node:crypto` directly: the very text jose's `SignJWT` produces for
   * the same header and claims (test/tokens-differential.test.ts), without its WebCrypto round trip.
   */
  async issue(kind: TokenKind, sub: string, issuedAt: Date, expiresAt: Date): Promise<{ token: string; jti: string }> {
    const { kid, privateKey } = this.keys.current();
    const jti = randomUUID();
    const header = encodeSegment(protectedHeader(kind, kid));
    const payload = encodeSegment({
      iss: this.issuers.issuer.current,
      aud: TOKEN_AUDIENCE,
      sub,
      jti,
      iat: Math.floor(issuedAt.getTime() / 1000),
      exp: Math.floor(expiresAt.getTime() / 1000),
    });
    const signingInput = `${header}.${payload}`;
    const signature = cryptoSign(null, Buffer.from(signingInput, 'latin1'), privateKey).toString('base64url');
    return { token: `${signingInput}.${signature}`, jti };
  }

  /**
   * The `typ` a token claims, without trusting it: used only to pick the verifier, which
   * checks the whole token (so only the header segment is looked at here).
   */
  static peekKind(token: string): TokenKind | undefined {
    const dot = token.indexOf('.');
    if (dot < 2 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const headerSegment = token.slice(0, dot);
    for (const recent of recentHeaders) if (recent.segment === headerSegment) return recent.kind;
    const facts = headerFacts.get(headerSegment) ?? (BASE64URL.test(headerSegment) ? factsOf(headerSegment) : undefined);
    const kind = facts?.kind ?? undefined;
    if (kind !== undefined) {
      recentHeaders.unshift({ segment: headerSegment, kind });
      if (recentHeaders.length > RECENT_HEADERS) recentHeaders.pop();
    }
    return kind;
  }

  /**
   * Verifies signature and claims; a denial is a value with its reason (for the log, never
   * the client). The checks of jose's `jwtVerify` with pinned options, done directly with
   * `node:crypto`, which the cold path's target needs (docs/ARCHITECTURE.md, "Tokens and
   * secrets"); test/tokens-differential.test.ts holds the two in agreement, this one the
   * stricter where they differ. Checked, in order: compact form and length; every segment
   * the canonical base64url spelling of its bytes (no stray trailing bits); a protected
   * header that is UTF-8 JSON of an object with `alg` exactly EdDSA, `typ` exactly this
   * kind's, no `crit` or `b64`, and a `kid` resolved only from the local key store (never a
   * key or URL from the token); the Ed25519 signature over the exact header.payload text; a
   * payload that is UTF-8 JSON of an object with `iss`, `aud`, `sub`, `jti`, `iat` and `exp` of the right
   * types, an issuer the instance accepts (token-issuer.ts), the pinned audience, `nbf` (if any) reached and `exp` not reached,
   * with no clock tolerance. Synchronous when the signing key is loaded and the issuer known
   * (every cold API request but the first after a key or issuer change): no promise made.
   */
  verify(kind: TokenKind, token: string): MaybePromise<TokenCheck> {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return { ok: false, reason: 'malformed' };
    const firstDot = token.indexOf('.');
    const lastDot = token.lastIndexOf('.');
    // One spelling per token: the header's canonical form is checked (and cached) with its facts.
    if (!isCanonicalBase64url(token, firstDot + 1, lastDot) || !isCanonicalBase64url(token, lastDot + 1)) return { ok: false, reason: 'malformed' };
    const header = checkHeader(kind, factsOf(token.slice(0, firstDot)));
    if (!header.ok) return header;
    const loaded = this.keys.loadedVerificationKey(header.kid);
    return loaded !== undefined
      ? this.#signed(token, loaded, firstDot, lastDot)
      : andThen(this.keys.verificationKey(header.kid), (key) => this.#signed(token, key, firstDot, lastDot));
  }

  /** The signature, then the claims, of a token whose form and header passed. */
  #signed(token: string, key: KeyObject | undefined, firstDot: number, lastDot: number): MaybePromise<TokenCheck> {
    if (key === undefined || key.asymmetricKeyType !== 'ed25519') return { ok: false, reason: 'no-key' };
    const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
    if (signature.length !== ED25519_SIGNATURE_BYTES || !cryptoVerify(null, Buffer.from(token.slice(0, lastDot), 'latin1'), key, signature)) {
      return { ok: false, reason: 'signature' };
    }
    const payload = decodeSegment(token.slice(firstDot + 1, lastDot));
    if (payload === undefined) return { ok: false, reason: 'claims' };
    const { iss, sub, jti, iat, exp } = payload;
    if (typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
      return { ok: false, reason: 'claims' };
    }
    const claims = { sub, jti, iat, exp };
    if (this.issuers.accepts(iss)) return this.#current(payload, claims);
    // An issuer not (yet) known here may be one another instance just adopted: the reload that change started decides.
    return this.issuers.settled().then(() => (this.issuers.accepts(iss) ? this.#current(payload, claims) : { ok: false, reason: 'issuer' }));
  }

  /** The audience and the time claims of a signed token from an accepted issuer. */
  #current(payload: Record<string, unknown>, claims: VerifiedClaims): TokenCheck {
    const { aud, nbf } = payload;
    if (aud !== TOKEN_AUDIENCE && !(Array.isArray(aud) && aud.includes(TOKEN_AUDIENCE))) return { ok: false, reason: 'audience' };
    const now = Math.floor(this.clock().getTime() / 1000);
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now)) return { ok: false, reason: 'not-yet-valid' };
    if (!Number.isFinite(claims.exp) || claims.exp <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }
}
