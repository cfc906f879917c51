/**
 * TokenService.verify is written by hand on node:crypto (jose's WebCrypto path costs the cold
 * path its target: docs/ARCHITECTURE.md, "Tokens and secrets"). This proves it against jose's
 * jwtVerify, configured with the same pinned options, the same key resolution (by `kid`, from
 * the local key set only) and the same clock with no tolerance, over a hostile corpus: the two
 * agree on every token, and on the claims of every token both accept, except the cases named
 * with a reason, where ours refuses what jose accepts. Ours never accepts what jose refuses.
 *
 * On SQLite only: what is compared is the verifier, not the storage behind the key store.
 */
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, UnsecuredJWT, type JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { ACCESS_KEY_PREFIX, MAX_TOKEN_LENGTH, TOKEN_AUDIENCE, TOKEN_TYPES, type TokenCheck, type TokenKind } from '../src/auth/tokens.ts';
import { createHarness, START, TEST_PUBLIC_URL, type Harness } from './helpers/harness.ts';
import { kidOf } from './helpers/instances.ts';
import { otherSpellings } from './helpers/spellings.ts';

const KINDS: TokenKind[] = ['accessKey', 'user'];

/** A token of the corpus: both verifiers' answer, or why ours alone refuses it. */
type Case = { name: string; token: string } & ({ both: 'accept' | 'refuse' } | { stricter: string });

type Part = Record<string, unknown> | string | Buffer;
const segment = (part: Part) => (typeof part === 'string' || Buffer.isBuffer(part) ? Buffer.from(part) : Buffer.from(JSON.stringify(part))).toString('base64url');
const decoded = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
/** A compact JWS over exactly these header and payload bytes, signed with an Ed25519 key. */
const signedWith = (key: KeyObject) => (header: Part, payload: Part) => {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${cryptoSign(null, Buffer.from(input), key).toString('base64url')}`;
};

const JOSE_DECODER = 'jose decodes base64url with atob, which ignores stray trailing bits, padding and ASCII whitespace';
const JOSE_TYP = 'jose compares typ case-insensitively and with an implied "application/" prefix';

describe("TokenService.verify against jose's jwtVerify", () => {
  let h: Harness;
  let olderKid: string;
  let olderKey: KeyObject;
  const attacker = generateKeyPairSync('ed25519');

  beforeAll(async () => {
    h = await createHarness('sqlite');
    // Two keys: the newer signs, the older still verifies what it signed.
    ({ kid: olderKid, privateKey: olderKey } = h.ctx.signingKeys.current());
    await h.ctx.signingKeys.rotate(h.ctx.transactions, CLI_ACTOR);
  });
  afterAll(() => h.close());

  const nowSeconds = () => Math.floor(h.clock().getTime() / 1000);
  const ours = (kind: TokenKind, token: string) => h.ctx.tokens.verify(kind, token);
  /** jose with Tessera's pins: a key only by `kid`, from the local set (jose alone would also take a set's only key for a token without one). */
  const byKid: JWTVerifyGetKey = (header, token) => {
    if (typeof header.kid !== 'string') throw new TypeError('no kid');
    return createLocalJWKSet(h.ctx.signingKeys.jwks())(header, token);
  };
  const jose = async (kind: TokenKind, token: string): Promise<TokenCheck> => {
    try {
      const { payload } = await jwtVerify(token, byKid, {
        algorithms: ['EdDSA'],
        issuer: TEST_PUBLIC_URL,
        audience: TOKEN_AUDIENCE,
        typ: TOKEN_TYPES[kind],
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        currentDate: h.clock(),
        clockTolerance: 0,
      });
      return { ok: true, claims: { sub: payload.sub!, jti: payload.jti!, iat: payload.iat!, exp: payload.exp! } };
    } catch (error) {
      return { ok: false, reason: (error as { code?: string }).code ?? String(error) };
    }
  };

  /** Every forgery and oddity the token tests know, built from a real token of `kind`. */
  async function corpus(kind: TokenKind, token: string): Promise<Case[]> {
    const [h64, p64, s64] = token.split('.') as [string, string, string];
    const header = decoded(h64);
    const claims = decoded(p64);
    const now = nowSeconds();
    const typ = TOKEN_TYPES[kind];
    const otherTyp = TOKEN_TYPES[kind === 'accessKey' ? 'user' : 'accessKey'];
    const { privateKey } = h.ctx.signingKeys.current();
    const ourKey = signedWith(privateKey);
    const theirKey = signedWith(attacker.privateKey);
    const withHeader = (changes: Record<string, unknown>) => ourKey({ ...header, ...changes }, claims);
    const withClaims = (changes: Record<string, unknown>) => ourKey(header, { ...claims, ...changes });
    const omit = (from: Record<string, unknown>, name: string) => Object.fromEntries(Object.entries(from).filter(([k]) => k !== name));
    const claimsText = JSON.stringify(claims);
    const headerText = JSON.stringify(header);
    const joseSigned = (alg: string, key: Parameters<SignJWT['sign']>[0]) => new SignJWT(claims).setProtectedHeader({ alg, kid: header['kid'] as string, typ }).sign(key);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = h.ctx.signingKeys.jwks().keys.find((k) => k.kid === header['kid'])!;
    const cases: Case[] = [
      { name: 'the token as issued', token, both: 'accept' },
      { name: 'signed by the older key under its own kid', token: signedWith(olderKey)({ ...header, kid: olderKid }, claims), both: 'accept' },
      { name: 'header members in another order, signed', token: ourKey({ typ, kid: header['kid'], alg: 'EdDSA' }, claims), both: 'accept' },
      {
        name: 'JSON whitespace around and between members, signed',
        token: ourKey(` \t${headerText.replaceAll(',', ' ,\n')}\r\n`, ` ${claimsText.replaceAll('":', '" : ')} `),
        both: 'accept',
      },
      {
        name: 'duplicate alg in the header, the last one EdDSA (both parsers keep the last)',
        token: ourKey(`{"alg":"none",${headerText.slice(1)}`, claims),
        both: 'accept',
      },
      { name: 'duplicate alg in the header, the last one none', token: ourKey(`${headerText.slice(0, -1)},"alg":"none"}`, claims), both: 'refuse' },
      { name: 'duplicate sub in the payload, the last one the real one', token: ourKey(header, `{"sub":"decoy",${claimsText.slice(1)}`), both: 'accept' },
      { name: 'duplicate exp in the payload, the last one reached', token: ourKey(header, `${claimsText.slice(0, -1)},"exp":${now}}`), both: 'refuse' },
      {
        name: 'jwk, jku, x5u and x5c beside our kid: keys come only from the local set by kid',
        token: withHeader({ jwk: attacker.publicKey.export({ format: 'jwk' }), jku: 'http://evil.test/jwks.json', x5u: 'http://evil.test/cert.pem', x5c: ['AAAA'] }),
        both: 'accept',
      },
      { name: 'an unknown claim besides', token: withClaims({ role: 'global-admin' }), both: 'accept' },
      { name: 'aud an array holding ours', token: withClaims({ aud: ['someone-else', TOKEN_AUDIENCE] }), both: 'accept' },
      { name: 'nbf this very second', token: withClaims({ nbf: now }), both: 'accept' },
      { name: 'nbf the next second', token: withClaims({ nbf: now + 1 }), both: 'refuse' },
      { name: 'nbf minus infinity (-1e999)', token: ourKey(header, `${claimsText.slice(0, -1)},"nbf":-1e999}`), both: 'accept' },
      { name: 'nbf infinity (1e999)', token: ourKey(header, `${claimsText.slice(0, -1)},"nbf":1e999}`), both: 'refuse' },
      { name: 'exp the next second', token: withClaims({ exp: now + 1 }), both: 'accept' },
      { name: 'exp this very second', token: withClaims({ exp: now }), both: 'refuse' },
      { name: 'exp the second before', token: withClaims({ exp: now - 1 }), both: 'refuse' },
      { name: 'exp half a second into this second (both compare with the clock in whole seconds)', token: withClaims({ exp: now + 0.5 }), both: 'accept' },
      {
        name: 'exp infinity (1e999)',
        token: ourKey(header, `${claimsText.slice(0, -1)},"exp":1e999}`),
        stricter: 'jose accepts an exp that JSON.parse reads as Infinity; ours wants a finite exp',
      },
      { name: 'exp a string', token: withClaims({ exp: String(now + 3600) }), both: 'refuse' },
      { name: 'exp null', token: withClaims({ exp: null }), both: 'refuse' },
      { name: 'iat in the future (neither reads iat as a bound)', token: withClaims({ iat: now + 3600 }), both: 'accept' },
      { name: 'iat zero', token: withClaims({ iat: 0 }), both: 'accept' },
      { name: 'iat a string', token: withClaims({ iat: String(now) }), both: 'refuse' },
      { name: 'nbf a string', token: withClaims({ nbf: String(now) }), both: 'refuse' },
      ...['iss', 'aud', 'sub', 'jti', 'iat', 'exp'].map((claim): Case => ({ name: `${claim} missing`, token: ourKey(header, omit(claims, claim)), both: 'refuse' })),
      { name: 'iss another issuer', token: withClaims({ iss: 'http://evil.test' }), both: 'refuse' },
      { name: 'iss an array holding ours', token: withClaims({ iss: [TEST_PUBLIC_URL] }), both: 'refuse' },
      { name: 'iss ours with a trailing slash', token: withClaims({ iss: `${TEST_PUBLIC_URL}/` }), both: 'refuse' },
      { name: 'aud another audience', token: withClaims({ aud: 'someone-else' }), both: 'refuse' },
      { name: 'aud an array without ours', token: withClaims({ aud: ['someone-else'] }), both: 'refuse' },
      { name: 'sub a number', token: withClaims({ sub: 42 }), stricter: 'jose checks that sub is present, not that it is a string' },
      { name: 'sub null', token: withClaims({ sub: null }), stricter: 'jose checks that sub is present, not that it is a string' },
      { name: 'jti an object', token: withClaims({ jti: { id: 1 } }), stricter: 'jose checks that jti is present, not that it is a string' },
      // The algorithm.
      { name: 'alg none, unsecured (jose UnsecuredJWT)', token: new UnsecuredJWT(claims).encode(), both: 'refuse' },
      { name: 'alg none with our kid and typ, no signature', token: `${segment({ alg: 'none', kid: header['kid'], typ })}.${p64}.`, both: 'refuse' },
      { name: 'alg none with our kid and typ, signed by our key', token: withHeader({ alg: 'none' }), both: 'refuse' },
      { name: 'HS256 keyed with our public JWK text', token: await joseSigned('HS256', new TextEncoder().encode(JSON.stringify(publicJwk))), both: 'refuse' },
      { name: 'HS256 keyed with our public key bytes', token: await joseSigned('HS256', Buffer.from(publicJwk.x, 'base64url')), both: 'refuse' },
      { name: 'RS256 under our kid', token: await joseSigned('RS256', rsa.privateKey), both: 'refuse' },
      { name: 'ES256 under our kid', token: await joseSigned('ES256', ec.privateKey), both: 'refuse' },
      ...['eddsa', 'EDDSA', 'EdDsa', 'Ed25519', 'EdDSA '].map(
        (alg): Case => ({ name: `alg ${JSON.stringify(alg)}, signed by our key`, token: withHeader({ alg }), both: 'refuse' }),
      ),
      { name: 'alg missing', token: ourKey(omit(header, 'alg'), claims), both: 'refuse' },
      { name: 'alg an array', token: withHeader({ alg: ['EdDSA'] }), both: 'refuse' },
      // The key.
      { name: 'kid unknown, signed by our key', token: withHeader({ kid: 'no-such-key' }), both: 'refuse' },
      { name: 'kid missing, signed by our key', token: ourKey(omit(header, 'kid'), claims), both: 'refuse' },
      { name: 'kid a number', token: withHeader({ kid: 7 }), both: 'refuse' },
      { name: 'kid of our older key, signed by the newer', token: withHeader({ kid: olderKid }), both: 'refuse' },
      { name: 'our kid, signed by another key', token: theirKey(header, claims), both: 'refuse' },
      {
        name: 'another key embedded as jwk, no kid',
        token: theirKey({ ...omit(header, 'kid'), jwk: attacker.publicKey.export({ format: 'jwk' }) }, claims),
        both: 'refuse',
      },
      { name: 'another key embedded as jwk, with our kid', token: theirKey({ ...header, jwk: attacker.publicKey.export({ format: 'jwk' }) }, claims), both: 'refuse' },
      { name: 'jku to another key set, its own kid', token: theirKey({ ...header, kid: 'evil', jku: 'http://evil.test/jwks.json' }, claims), both: 'refuse' },
      // The type.
      { name: 'typ of the other kind of token', token: withHeader({ typ: otherTyp }), both: 'refuse' },
      { name: 'typ JWT', token: withHeader({ typ: 'JWT' }), both: 'refuse' },
      { name: 'typ missing', token: ourKey(omit(header, 'typ'), claims), both: 'refuse' },
      { name: 'typ a number', token: withHeader({ typ: 1 }), both: 'refuse' },
      { name: 'typ upper case', token: withHeader({ typ: typ.toUpperCase() }), stricter: JOSE_TYP },
      { name: 'typ with the application/ prefix', token: withHeader({ typ: `application/${typ}` }), stricter: JOSE_TYP },
      // Extensions.
      { name: 'crit naming exp', token: withHeader({ crit: ['exp'] }), both: 'refuse' },
      { name: 'crit empty', token: withHeader({ crit: [] }), both: 'refuse' },
      { name: 'crit b64 with b64 false', token: withHeader({ crit: ['b64'], b64: false }), both: 'refuse' },
      { name: 'crit b64 with b64 true', token: withHeader({ crit: ['b64'], b64: true }), stricter: 'jose understands b64 (RFC 7797); ours refuses every extension' },
      {
        name: 'b64 false without crit',
        token: withHeader({ b64: false }),
        stricter: 'jose ignores b64 unless crit names it; ours refuses it, as it would change what is signed',
      },
      // JSON that is not a plain object, or not JSON.
      ...['[]', '"text"', '1', 'null', 'true', '{', ''].flatMap((json): Case[] => [
        { name: `header ${JSON.stringify(json)}`, token: ourKey(json, claims), both: 'refuse' },
        { name: `payload ${JSON.stringify(json)}`, token: ourKey(header, json), both: 'refuse' },
      ]),
      {
        name: 'payload not UTF-8 (a lone 0xFF byte in sub)',
        token: ourKey(header, Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xff]), Buffer.from(`",${claimsText.slice(1)}`)])),
        both: 'refuse',
      },
      {
        name: 'payload with an overlong UTF-8 sequence',
        token: ourKey(header, Buffer.concat([Buffer.from(`${claimsText.slice(0, -1)},"x":"`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])),
        both: 'refuse',
      },
      {
        name: 'header not UTF-8 (a lone 0xFF byte in a member)',
        token: ourKey(Buffer.concat([Buffer.from(`${headerText.slice(0, -1)},"x":"`), Buffer.from([0xff]), Buffer.from('"}')]), claims),
        both: 'refuse',
      },
      {
        name: 'a byte-order mark before the header JSON',
        token: ourKey(`\ufeff${headerText}`, claims),
        stricter: "jose's UTF-8 decoder drops a leading byte-order mark; ours keeps it, and JSON.parse refuses it",
      },
      {
        name: 'a byte-order mark before the payload JSON',
        token: ourKey(header, `\ufeff${claimsText}`),
        stricter: "jose's UTF-8 decoder drops a leading byte-order mark; ours keeps it, and JSON.parse refuses it",
      },
      // Size and shape.
      {
        name: `over ${MAX_TOKEN_LENGTH} characters, validly signed`,
        token: withClaims({ pad: 'x'.repeat(MAX_TOKEN_LENGTH) }),
        stricter: 'ours refuses a token over MAX_TOKEN_LENGTH before parsing it; jose has no bound',
      },
      { name: 'a megabyte of nothing', token: 'x'.repeat(2 ** 20), both: 'refuse' },
      { name: 'empty', token: '', both: 'refuse' },
      { name: 'two segments', token: `${h64}.${p64}`, both: 'refuse' },
      { name: 'four segments', token: `${token}.${s64}`, both: 'refuse' },
      { name: 'five segments (the JWE shape)', token: `${token}.${s64}.${s64}`, both: 'refuse' },
      { name: 'empty segments', token: '..', both: 'refuse' },
      { name: 'empty payload', token: `${h64}..${s64}`, both: 'refuse' },
      { name: 'empty signature', token: `${h64}.${p64}.`, both: 'refuse' },
      // The signature.
      { name: 'signature cut to 63 bytes', token: `${h64}.${p64}.${Buffer.from(s64, 'base64url').subarray(0, 63).toString('base64url')}`, both: 'refuse' },
      {
        name: 'signature grown to 65 bytes',
        token: `${h64}.${p64}.${Buffer.concat([Buffer.from(s64, 'base64url'), Buffer.from([0])]).toString('base64url')}`,
        both: 'refuse',
      },
      { name: 'signature all zeros', token: `${h64}.${p64}.${Buffer.alloc(64).toString('base64url')}`, both: 'refuse' },
      { name: 'signature of another token', token: `${h64}.${p64}.${withClaims({ jti: 'another' }).split('.')[2]}`, both: 'refuse' },
      { name: 'payload changed, signature kept', token: `${h64}.${segment({ ...claims, exp: (claims['exp'] as number) + 10_000 })}.${s64}`, both: 'refuse' },
      { name: 'the signature over another spelling of the same header', token: `${segment({ typ, kid: header['kid'], alg: 'EdDSA' })}.${p64}.${s64}`, both: 'refuse' },
      { name: 'header of the other kind, signature kept', token: `${segment({ ...header, typ: otherTyp })}.${p64}.${s64}`, both: 'refuse' },
      { name: 'a space inside the signature', token: `${h64}.${p64}.${s64.slice(0, 40)} ${s64.slice(40)}`, stricter: JOSE_DECODER },
      { name: 'a line break after the signature', token: `${token}\n`, stricter: JOSE_DECODER },
      { name: 'a space inside the header', token: `${h64.slice(0, 8)} ${h64.slice(8)}.${p64}.${s64}`, both: 'refuse' },
      // Every other base64url spelling of each segment: a changed header or payload is no longer what was signed.
      ...otherSpellings(token).map((v, i): Case => {
        const name = `${['header', 'payload', 'signature'][v.segment]} spelled with ${v.how} (spelling ${i + 1})`;
        return v.segment === 2 && (v.how === 'stray bits' || v.how === 'padding')
          ? { name, token: v.token, stricter: JOSE_DECODER }
          : { name, token: v.token, both: 'refuse' };
      }),
    ];
    return cases;
  }

  for (const kind of KINDS) {
    it(`agrees with jose on every token of the hostile corpus, ${kind} tokens, at either end of a clock second`, async () => {
      const { token } = await h.ctx.tokens.issue(kind, `subject-${kind}`, new Date(nowSeconds() * 1000), new Date((nowSeconds() + 3600) * 1000));
      const cases = await corpus(kind, token);
      expect(new Set(cases.map((c) => c.name)).size, 'case names are unique').toBe(cases.length);
      // Every disagreement at once, named: a list is easier to read than the first failure.
      const disagreements: string[] = [];
      for (const millisecond of [0, 999]) {
        h.clock.set(new Date(START.getTime() + millisecond));
        for (const c of cases) {
          const [mine, theirs] = [await ours(kind, c.token), await jose(kind, c.token)];
          const label = `${c.name} (clock at .${millisecond}): ours ${JSON.stringify(mine)}, jose ${JSON.stringify(theirs)}`;
          // A stricter case must still be a real difference: were jose to refuse it too, it belongs with the agreed ones.
          const agreed = 'stricter' in c ? !mine.ok && theirs.ok : mine.ok === (c.both === 'accept') && theirs.ok === (c.both === 'accept');
          if (!agreed) disagreements.push(label);
          else if (mine.ok && theirs.ok && !isDeepStrictEqual(mine.claims, theirs.claims)) disagreements.push(`${label}: other claims`);
        }
      }
      expect(disagreements).toEqual([]);
      h.clock.set(START);
    });

    it(`issues what jose verifies, and verifies what jose's SignJWT signs: the very same text (${kind})`, async () => {
      const iat = nowSeconds();
      const { token, jti } = await h.ctx.tokens.issue(kind, 'the-subject', new Date(iat * 1000), new Date((iat + 600) * 1000));
      const claims = { sub: 'the-subject', jti, iat, exp: iat + 600 };
      expect(await jose(kind, token)).toEqual({ ok: true, claims });
      const { privateKey, kid } = h.ctx.signingKeys.current();
      // Each kind's documented member order: an API key's header starts with its typ (ACCESS_KEY_PREFIX).
      const header = kind === 'accessKey' ? { typ: TOKEN_TYPES[kind], alg: 'EdDSA', kid } : { alg: 'EdDSA', kid, typ: TOKEN_TYPES[kind] };
      const byJose = await new SignJWT({})
        .setProtectedHeader(header)
        .setIssuer(TEST_PUBLIC_URL)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject('the-subject')
        .setJti(jti)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 600)
        .sign(privateKey);
      expect(decodeProtectedHeader(byJose)).toEqual(decodeProtectedHeader(token));
      expect(byJose).toBe(token);
      expect(await ours(kind, byJose)).toEqual({ ok: true, claims });
      const otherKind = kind === 'accessKey' ? 'user' : 'accessKey';
      expect((await ours(otherKind, byJose)).ok).toBe(false);
      expect((await jose(otherKind, token)).ok).toBe(false);
    });
  }

  it('mints API keys that start with ACCESS_KEY_PREFIX and that jose verifies with nothing but the published JWKS', async () => {
    const jwks = await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.statusCode).toBe(200);
    const keySet = createLocalJWKSet(jwks.json());
    for (let i = 0; i < 20; i++) {
      const { token } = await h.ctx.tokens.issue('accessKey', `prefixed-${i}`, new Date(nowSeconds() * 1000), new Date((nowSeconds() + 600) * 1000));
      expect(token.startsWith(ACCESS_KEY_PREFIX)).toBe(true);
      expect(ACCESS_KEY_PREFIX.length).toBeGreaterThanOrEqual(30);
      // The header's member order is what makes the prefix: typ first, the kid last.
      const headerText = Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8');
      expect(headerText).toBe(`{"typ":"tessera-api-key+jwt","alg":"EdDSA","kid":"${kidOf(token)}"}`);
      // A plain jose verification, as any client library would make it: the JWKS, the algorithm, issuer and audience.
      const { payload, protectedHeader } = await jwtVerify(token, keySet, {
        algorithms: ['EdDSA'],
        issuer: TEST_PUBLIC_URL,
        audience: TOKEN_AUDIENCE,
        typ: TOKEN_TYPES.accessKey,
        currentDate: h.clock(),
      });
      expect(payload.sub).toBe(`prefixed-${i}`);
      expect(protectedHeader).toEqual({ typ: TOKEN_TYPES.accessKey, alg: 'EdDSA', kid: kidOf(token) });
    }
    // The prefix is the base64url of the header's fixed start, as documented.
    expect(Buffer.from(`${ACCESS_KEY_PREFIX}AA`, 'base64url').toString('latin1').startsWith('{"typ":"tessera-api-key+jwt","alg":"EdDSA","kid":')).toBe(true);
    // A user token does not share it.
    const user = await h.ctx.tokens.issue('user', 'someone', new Date(nowSeconds() * 1000), new Date((nowSeconds() + 600) * 1000));
    expect(user.token.slice(0, 12)).not.toBe(ACCESS_KEY_PREFIX.slice(0, 12));
  });

  it('refuses, as jose does, a token whose key was rotated away', async () => {
    const { token } = await h.ctx.tokens.issue('accessKey', 'retired', new Date(nowSeconds() * 1000), new Date((nowSeconds() + 600) * 1000));
    const old = signedWith(olderKey)({ ...decodeProtectedHeader(token), kid: olderKid }, decoded(token.split('.')[1]!));
    expect((await ours('accessKey', old)).ok).toBe(true);
    expect((await jose('accessKey', old)).ok).toBe(true);
    await h.ctx.storage.db.deleteFrom('signing_keys').where('kid', '=', olderKid).execute();
    await h.ctx.signingKeys.reload();
    expect(await ours('accessKey', old)).toEqual({ ok: false, reason: 'no-key' });
    expect((await jose('accessKey', old)).ok).toBe(false);
    expect((await ours('accessKey', token)).ok).toBe(true);
    expect((await jose('accessKey', token)).ok).toBe(true);
  });
});
