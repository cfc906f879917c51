/**
 * Which verifier the cold path can afford: Tessera's TokenService.verify (node:crypto) against
 * jose's jwtVerify with the same pinned options and the same key resolution by `kid`, per
 * cold token, in this process (no HTTP), beside (d)'s reference (a raw Ed25519 verification
 * plus one lookup of the key by primary key). Both verifiers are also measured inside a whole
 * cold authentication (an authenticator with caches of one: signature and claims, key read,
 * hash compare, usage count), so the ratio that (d)'s target bounds is measured, not
 * estimated. Each figure is this process's CPU time (all its threads: WebCrypto verifies on
 * libuv's pool) per token, as (d)'s servers are compared by CPU per request; wall time on a
 * shared machine measures the neighbours. Interleaved passes, best of 7.
 *
 *   node --import tsx bench/token-verify.ts [--tokens 3000]
 *
 * Prints a table and one JSON line with the figures.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { FastifyRequest } from 'fastify';
import { createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AccessKeyAuthenticator } from '../src/access-keys/access-key.auth.ts';
import type { SigningKeyStore } from '../src/auth/keystore.ts';
import { TOKEN_AUDIENCE, TOKEN_TYPES, TokenService, type TokenCheck, type TokenKind } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { makeDataset } from './lib/datasets.ts';

/** TokenService with jose's jwtVerify in place of the hand-written verification: what "tokens through jose" would run. */
class JoseTokenService extends TokenService {
  readonly #resolveKey: JWTVerifyGetKey;
  readonly #issuer: string;
  readonly #clock: () => Date;

  constructor(keys: SigningKeyStore, issuer: string, clock: () => Date, resolveKey: JWTVerifyGetKey) {
    super(keys, { issuer: { current: issuer, accepted: [issuer] }, accepts: (iss) => iss === issuer, settled: async () => {} }, clock);
    this.#resolveKey = resolveKey;
    this.#issuer = issuer;
    this.#clock = clock;
  }

  override async verify(kind: TokenKind, token: string): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.#resolveKey, {
        algorithms: ['EdDSA'],
        issuer: this.#issuer,
        audience: TOKEN_AUDIENCE,
        typ: TOKEN_TYPES[kind],
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        currentDate: this.#clock(),
      });
      return { ok: true, claims: { sub: payload.sub!, jti: payload.jti!, iat: payload.iat!, exp: payload.exp! } };
    } catch (error) {
      return { ok: false, reason: (error as { code?: string }).code ?? 'invalid' };
    }
  }
}

const { values } = parseArgs({ options: { tokens: { type: 'string', default: '3000' } } });
const size = Number(values.tokens);
const dataset = await makeDataset('sqlite', { keys: 0, accounts: 1, assets: 0, tokenPool: size }, '');
const config = loadConfig(dataset.env);
const ctx = await createContext(config, createLogger({ logLevel: 'warn' }), { listen: false });
try {
  const pool = dataset.keys.pool;
  const sqlite = ctx.storage.sqlite!;
  const byId = sqlite.prepare('select * from access_keys where id = ?');
  const jwks = createLocalJWKSet(ctx.signingKeys.jwks());
  // Keys resolved only by `kid` from the local key set, as TokenService does.
  const byKid: JWTVerifyGetKey = (header, token) => {
    if (typeof header.kid !== 'string') throw new Error('no kid');
    return jwks(header, token);
  };
  const joseTokens = new JoseTokenService(ctx.signingKeys, config.publicUrl, ctx.clock, byKid);
  const parts = pool.map((t) => {
    const dot = t.lastIndexOf('.');
    const sub = (JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
    const kid = (JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    return { data: Buffer.from(t.slice(0, dot)), signature: Buffer.from(t.slice(dot + 1), 'base64url'), sub, kid };
  });
  const key = (await ctx.signingKeys.verificationKey(parts[0]!.kid))!;
  const coldWith = (tokens: TokenService) => {
    const cold = new AccessKeyAuthenticator(ctx.storage, tokens, ctx.changes, ctx.clock, { tokenCacheSize: 1, stateCacheSize: 1 });
    cold.onUse(ctx.usage.record);
    return cold;
  };
  const coldOurs = coldWith(ctx.tokens);
  const coldJose = coldWith(joseTokens);
  const request = { headers: {}, ip: '127.0.0.1' } as unknown as FastifyRequest;
  const accept = (result: { ok: boolean; reason?: string }) => {
    if (!result.ok) throw new Error(`a pool token was refused: ${result.reason}`);
  };
  const ops: Record<string, (i: number) => unknown> = {
    'reference: raw Ed25519 verification + key lookup by primary key': (i) => {
      const p = parts[i]!;
      if (!cryptoVerify(null, p.data, key, p.signature) || byId.get(p.sub) === undefined) throw new Error('reference refused a pool token');
    },
    'TokenService.verify (node:crypto, every pinned check)': async (i) => accept(await ctx.tokens.verify('accessKey', pool[i]!)),
    'jose jwtVerify, same pinned options, key by kid from the local JWKS': async (i) => accept(await joseTokens.verify('accessKey', pool[i]!)),
    'jose jwtVerify, same pinned options, the KeyObject given': async (i) => {
      await jwtVerify(pool[i]!, key, {
        algorithms: ['EdDSA'],
        issuer: config.publicUrl,
        audience: TOKEN_AUDIENCE,
        typ: TOKEN_TYPES.accessKey,
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      });
    },
    'cold authentication, TokenService.verify': async (i) => {
      ctx.changes.sync();
      accept(await coldOurs.verify(pool[i]!, request));
    },
    'cold authentication, jose jwtVerify': async (i) => {
      ctx.changes.sync();
      accept(await coldJose.verify(pool[i]!, request));
    },
  };
  const best: Record<string, number> = {};
  for (let pass = 0; pass < 7; pass++) {
    for (const [name, fn] of Object.entries(ops)) {
      const started = process.cpuUsage();
      for (let i = 0; i < pool.length; i++) await fn(i);
      const { user, system } = process.cpuUsage(started);
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, (user + system) / pool.length);
    }
  }
  const reference = best['reference: raw Ed25519 verification + key lookup by primary key']!;
  process.stdout.write(`${pool.length} cold tokens, CPU µs per token (best of 7 interleaved passes); ratio to the reference\n`);
  for (const [name, us] of Object.entries(best)) process.stdout.write(`${us.toFixed(1).padStart(8)}  ${(us / reference).toFixed(2)}×  ${name}\n`);
  process.stdout.write(`${JSON.stringify(best)}\n`);
} finally {
  await ctx.close();
  await dataset.drop();
}
