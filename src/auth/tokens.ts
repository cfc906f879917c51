import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { SigningKeyStore } from './keystore.ts';

/** The `typ` of each kind of token: an API key can never pass as a user token, nor the reverse. */
export const TOKEN_TYPES = {
  accessKey: 'tessera-api-key+jwt',
  user: 'tessera-user+jwt',
} as const;
export type TokenKind = keyof typeof TOKEN_TYPES;

export const TOKEN_AUDIENCE = 'tessera-api';
/** Longer tokens are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}$/;

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
    private readonly issuer: string,
    private readonly clock: () => Date,
  ) {}

  /** Signs a token for `sub`, valid from `issuedAt` (whole seconds) to `expiresAt`. */
  async issue(kind: TokenKind, sub: string, issuedAt: Date, expiresAt: Date): Promise<{ token: string; jti: string }> {
    const { kid, privateKey } = this.keys.current();
    const jti = randomUUID();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: TOKEN_TYPES[kind] })
      .setIssuer(this.issuer)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(sub)
      .setJti(jti)
      .setIssuedAt(Math.floor(issuedAt.getTime() / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(privateKey);
    return { token, jti };
  }

  /** The `typ` a token claims, without trusting it: used only to pick the verifier. */
  static peekKind(token: string): TokenKind | undefined {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return undefined;
    try {
      const typ = decodeProtectedHeader(token).typ;
      if (typ === TOKEN_TYPES.accessKey) return 'accessKey';
      if (typ === TOKEN_TYPES.user) return 'user';
    } catch {
      // not a JWS header: falls through to "no kind"
    }
    return undefined;
  }

  /** Verifies signature and claims; a denial is a value with its reason (for the log, never the client). */
  async verify(kind: TokenKind, token: string): Promise<TokenCheck> {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return { ok: false, reason: 'malformed' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid === undefined ? undefined : await this.keys.verificationKey(header.kid);
          if (key === undefined) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        {
          algorithms: ['EdDSA'],
          issuer: this.issuer,
          audience: TOKEN_AUDIENCE,
          typ: TOKEN_TYPES[kind],
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
          currentDate: this.clock(),
          clockTolerance: 0,
        },
      ));
    } catch (error) {
      const code = error instanceof joseErrors.JOSEError ? error.code : 'invalid';
      return { ok: false, reason: code === 'ERR_JWT_EXPIRED' ? 'expired' : code };
    }
    const { sub, jti, iat, exp } = payload;
    if (typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
      return { ok: false, reason: 'claims' };
    }
    return { ok: true, claims: { sub, jti, iat, exp } };
  }
}
