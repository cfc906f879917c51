import { generateKeyPairSync } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader, SignJWT, UnsecuredJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../src/auth/secret-box.ts';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { TOKEN_AUDIENCE, TOKEN_TYPES, TokenService } from '../src/auth/tokens.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, TEST_PUBLIC_URL, type Harness } from './helpers/harness.ts';
import { addUser, PASSWORD } from './helpers/people.ts';
import { otherSpellings } from './helpers/spellings.ts';

describe.each(DIALECTS)('API key tokens (%s)', (dialect) => {
  let h: Harness;
  let admin: { id: string; token: string };
  const list = (token: string | undefined, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = await h.key([{ role: 'global-admin' }], { name: 'root' });
  });
  afterAll(() => h.close());

  it('is a compact EdDSA JWS with kid, the API-key typ, and iss, aud, sub, jti, iat, exp', async () => {
    const header = decodeProtectedHeader(admin.token);
    expect(header).toEqual({ alg: 'EdDSA', kid: expect.any(String), typ: TOKEN_TYPES.accessKey });
    const claims = JSON.parse(Buffer.from(admin.token.split('.')[1]!, 'base64url').toString());
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
    expect(claims).toMatchObject({ iss: TEST_PUBLIC_URL, aud: TOKEN_AUDIENCE, sub: admin.id });
    const row = await h.ctx.storage.db.selectFrom('access_keys').selectAll().where('id', '=', admin.id).executeTakeFirstOrThrow();
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(admin.token.split('.')[2]);
  });

  it('accepts the Bearer scheme in any case, and a token nowhere but the Authorization header', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const res = await h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: `${scheme} ${admin.token}` } });
      expect(res.statusCode, scheme).toBe(200);
    }
    for (const spaced of [`Bearer\t${admin.token}`, `Bearer   ${admin.token} \t `]) {
      const res = await h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: spaced } });
      expect(res.statusCode, JSON.stringify(spaced)).toBe(200);
    }
    for (const malformed of ['Bearer', 'Bearer  ', `Bearer${admin.token}`, `Bearer ${admin.token} ${admin.token}`, `Bearer ${admin.token}\u00a0x`]) {
      const res = await h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: malformed } });
      expect(res.statusCode, JSON.stringify(malformed)).toBe(401);
    }
    const elsewhere = [
      h.app.inject({ method: 'GET', url: `/api/v1/access-keys?access_token=${admin.token}` }),
      h.app.inject({ method: 'GET', url: `/api/v1/access-keys?token=${admin.token}` }),
      h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { cookie: `token=${admin.token}; access_token=${admin.token}` } }),
      h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: `Basic ${admin.token}` } }),
      h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: admin.token } }),
      h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { 'x-api-key': admin.token } }),
    ];
    for (const res of await Promise.all(elsewhere)) {
      expect(res.statusCode).toBe(401);
      // RFC 6750 §3.1: no bearer credentials were sent, so the challenge names no error.
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body).not.toContain(admin.token);
    }
  });

  it('challenges a request without credentials with a bare "Bearer", a refused token with invalid_token (RFC 6750)', async () => {
    const none = await h.app.inject({ method: 'GET', url: '/api/v1/access-keys' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.json().detail).toBe('Send an API access key as "Authorization: Bearer <key>".');
    const refused = await h.request(`${admin.token}x`, { method: 'GET', url: '/api/v1/access-keys' });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(refused.json().detail).toBe('The credentials are invalid, expired or revoked.');
  });

  it('tells a caller who sent the key without the "Bearer " prefix to add it, without echoing the key', async () => {
    const bare = await h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: admin.token } });
    expect(bare.statusCode).toBe(401);
    expect(bare.json().detail).toMatch(/^The Authorization header has no "Bearer " prefix: put "Bearer " before the key\./);
    expect(bare.body).not.toContain(admin.token);
    const basic = await h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: `Basic ${admin.token}` } });
    expect(basic.json().detail).toMatch(/^Only the Bearer scheme is accepted\./);
    expect(basic.body).not.toContain(admin.token);
    const empty = await h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: 'Bearer ' } });
    expect(empty.json().detail).toMatch(/^The Authorization header names the Bearer scheme but no key\./);
  });

  it('refuses forged, tampered and mis-typed tokens with 401 invalid_token', async () => {
    const [headerB64, payloadB64, signature] = admin.token.split('.') as [string, string, string];
    const header = decodeProtectedHeader(admin.token);
    const claims = JSON.parse(Buffer.from(payloadB64, 'base64url').toString());
    const attacker = generateKeyPairSync('ed25519');
    const now = Math.floor(h.clock().getTime() / 1000);
    const sign = (hdr: Record<string, unknown>, body: Record<string, unknown>, key = attacker.privateKey) =>
      new SignJWT(body).setProtectedHeader(hdr as { alg: string }).sign(key);
    const forged = [
      // Signed by another key under our kid.
      await sign({ alg: 'EdDSA', kid: header.kid, typ: header.typ }, claims),
      // Carrying its own key in the header.
      await sign({ alg: 'EdDSA', typ: header.typ, jwk: attacker.publicKey.export({ format: 'jwk' }) }, claims),
      await sign({ alg: 'EdDSA', kid: header.kid, typ: header.typ, jku: 'http://evil.test/jwks.json' }, claims),
      // alg none.
      new UnsecuredJWT(claims).encode(),
      `${base64url.encode(JSON.stringify({ alg: 'none', typ: header.typ, kid: header.kid }))}.${payloadB64}.`,
      // HS256 keyed with the public key.
      await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: header.kid as string, typ: header.typ as string })
        .sign(new TextEncoder().encode(JSON.stringify(h.ctx.signingKeys.jwks().keys[0]))),
      // Tampered payload: another subject, same signature.
      `${headerB64}.${base64url.encode(JSON.stringify({ ...claims, exp: claims.exp + 10_000 }))}.${signature}`,
      // Tampered signature.
      `${headerB64}.${payloadB64}.${signature.slice(0, -4)}AAAA`,
      'not-a-token',
      'a.b.c',
    ];
    for (const token of forged) {
      const res = await list(token);
      expect(res.statusCode, token.slice(0, 60)).toBe(401);
      expect(res.json().code).toBe('invalid_token');
    }
    // Our own key, but the wrong typ / audience / issuer, or a user token's typ.
    const { privateKey } = h.ctx.signingKeys.current();
    const ours = async (hdr: Record<string, unknown>, body: Record<string, unknown>) => list(await sign(hdr, body, privateKey));
    expect((await ours({ alg: 'EdDSA', kid: header.kid, typ: TOKEN_TYPES.user }, claims)).statusCode).toBe(401);
    expect((await ours({ alg: 'EdDSA', kid: header.kid, typ: 'JWT' }, claims)).statusCode).toBe(401);
    expect((await ours({ alg: 'EdDSA', kid: header.kid }, claims)).statusCode).toBe(401);
    expect((await ours({ alg: 'EdDSA', kid: header.kid, typ: header.typ }, { ...claims, aud: 'someone-else' })).statusCode).toBe(401);
    expect((await ours({ alg: 'EdDSA', kid: header.kid, typ: header.typ }, { ...claims, iss: 'http://evil.test' })).statusCode).toBe(401);
    expect((await ours({ alg: 'EdDSA', kid: header.kid, typ: header.typ }, { ...claims, jti: undefined })).statusCode).toBe(401);
    expect((await ours({ alg: 'EdDSA', kid: header.kid, typ: header.typ }, { ...claims, iat: now + 3600 })).statusCode).toBe(401);
    // A correctly signed token for an existing key id that is not the token issued for it (hash mismatch).
    expect((await ours({ alg: 'EdDSA', kid: header.kid, typ: header.typ }, { ...claims, jti: 'another' })).statusCode).toBe(401);
    // A well-formed token for a key that does not exist.
    expect((await ours({ alg: 'EdDSA', kid: header.kid, typ: header.typ }, { ...claims, sub: 'ghost' })).statusCode).toBe(401);
    // Still fine with the real one.
    expect((await list(admin.token)).statusCode).toBe(200);
  });

  it('refuses every non-canonical base64url spelling of a real API key and a real user token (regression: 16 spellings of one signature passed)', async () => {
    const user = await addUser(h, [{ role: 'global-admin' }]);
    const grant = await h.app.inject({ method: 'POST', url: '/api/v1/token', payload: { grant_type: 'password', username: user.email, password: PASSWORD } });
    const userToken = grant.json().access_token as string;
    for (const token of [admin.token, userToken]) {
      // Warm the caches with the real spelling first: a variant must not ride on them.
      expect((await list(token)).statusCode).toBe(200);
      const variants = otherSpellings(token).map((v) => v.token);
      // The signature alone (86 characters, 4 unused bits) has 15 other spellings.
      expect(variants.length).toBeGreaterThanOrEqual(15);
      for (const variant of variants) {
        const res = await list(variant);
        expect(res.statusCode, variant).toBe(401);
        expect(res.json().code).toBe('invalid_token');
        expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      }
    }
    const introspected = await h.request(admin.token, { method: 'POST', url: '/api/v1/token/introspect', payload: { token: otherSpellings(admin.token)[0]!.token } });
    expect(introspected.json()).toEqual({ active: false });
  });

  it('checks the protected header against the kind asked for, however often that header was seen', async () => {
    const { token } = await h.key([{ role: 'global-viewer' }]);
    const [headerB64] = token.split('.') as [string];
    const header = JSON.parse(Buffer.from(headerB64, 'base64url').toString()) as Record<string, unknown>;
    // Seen as an access key first (warming what is remembered of this header text), then asked as a user token.
    expect((await h.ctx.tokens.verify('accessKey', token)).ok).toBe(true);
    expect(await h.ctx.tokens.verify('user', token)).toEqual({ ok: false, reason: 'type' });
    expect((await h.ctx.tokens.verify('accessKey', token)).ok).toBe(true);
    // Each header fault has its own reason, checked in order (alg, typ, extensions, kid).
    const withHeader = (changes: Record<string, unknown>) =>
      `${Buffer.from(JSON.stringify({ ...header, ...changes })).toString('base64url')}.${token.slice(headerB64.length + 1)}`;
    expect(await h.ctx.tokens.verify('accessKey', withHeader({ alg: 'none' }))).toEqual({ ok: false, reason: 'algorithm' });
    expect(await h.ctx.tokens.verify('accessKey', withHeader({ typ: 'JWT' }))).toEqual({ ok: false, reason: 'type' });
    expect(await h.ctx.tokens.verify('accessKey', withHeader({ crit: ['exp'] }))).toEqual({ ok: false, reason: 'header' });
    expect(await h.ctx.tokens.verify('accessKey', withHeader({ b64: false }))).toEqual({ ok: false, reason: 'header' });
    expect(await h.ctx.tokens.verify('accessKey', withHeader({ kid: 7 }))).toEqual({ ok: false, reason: 'no-key' });
    expect(await h.ctx.tokens.verify('accessKey', `${Buffer.from('[1]').toString('base64url')}.${token.slice(headerB64.length + 1)}`)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('tells the kind of a token by its header however many header texts are in use, and only a known typ', async () => {
    const { token } = await h.key([{ role: 'global-viewer' }]);
    const [headerB64] = token.split('.') as [string];
    const header = JSON.parse(Buffer.from(headerB64, 'base64url').toString()) as Record<string, unknown>;
    const withHeader = (changes: Record<string, unknown>) =>
      `${Buffer.from(JSON.stringify({ ...header, ...changes })).toString('base64url')}.${token.slice(headerB64.length + 1)}`;
    // More header texts than are remembered as recent, asked in turn (a key each, both kinds).
    const tokens = [0, 1, 2, 3, 4, 5].flatMap((n) => [
      [withHeader({ kid: `k${n}` }), 'accessKey'],
      [withHeader({ kid: `k${n}`, typ: TOKEN_TYPES.user }), 'user'],
      [withHeader({ kid: `k${n}`, typ: 'JWT' }), undefined],
    ]);
    for (let round = 0; round < 2; round++) for (const [text, kind] of tokens) expect(TokenService.peekKind(text!), text).toBe(kind);
    expect(TokenService.peekKind(token)).toBe('accessKey');
  });

  it('refuses oversized credentials before parsing, with a 4xx', async () => {
    const res = await list('x'.repeat(10_000));
    expect(res.statusCode).toBe(401);
    const huge = await h.app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: `Bearer ${'e'.repeat(60_000)}` } });
    expect(huge.statusCode).toBeGreaterThanOrEqual(400);
    expect(huge.statusCode).toBeLessThan(500);
  });

  it('publishes only public keys; rotation makes a new signer while old tokens keep working', async () => {
    const before = await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(before.statusCode).toBe(200);
    const jwks = before.json();
    for (const key of jwks.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    }
    const oldKid = decodeProtectedHeader(admin.token).kid;
    const newKid = await h.ctx.signingKeys.rotate(h.ctx.transactions, CLI_ACTOR);
    expect(newKid).not.toBe(oldKid);
    const fresh = await h.key([{ role: 'global-admin' }]);
    expect(decodeProtectedHeader(fresh.token).kid).toBe(newKid);
    expect((await list(admin.token)).statusCode).toBe(200);
    expect((await list(fresh.token)).statusCode).toBe(200);
    const after = (await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    expect(after.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    const audit = await h.ctx.storage.db.selectFrom('audit_events').selectAll().where('category', '=', 'signing-keys').execute();
    expect(audit.map((e) => e.resource_id)).toContain(newKid);
  });

  it('keeps private signing keys encrypted with the instance secret', async () => {
    const rows = await h.ctx.storage.db.selectFrom('signing_keys').selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.private_jwk_encrypted).toMatch(/^v1\./);
      expect(row.private_jwk_encrypted).not.toContain('"d"');
      expect(JSON.parse(row.public_jwk)).not.toHaveProperty('d');
      expect(() => new SecretBox('another-secret-another-secret-another-secret').open('signing-key', row.private_jwk_encrypted)).toThrow(/TESSERA_SECRET/);
      expect(JSON.parse(h.ctx.box.open('signing-key', row.private_jwk_encrypted))).toHaveProperty('d');
    }
  });
});

describe('the generated instance secret', () => {
  it('is written once into the data folder with mode 0600 and reused', async () => {
    const h = await createHarness('sqlite', { env: { TESSERA_SECRET: '' } });
    try {
      expect(h.config.secretSource).toBe('generated');
      const file = join(h.config.dataDir, 'instance-secret');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const { loadConfig } = await import('../src/config.ts');
      const again = loadConfig(h.env);
      expect(again.secretSource).toBe('data-dir');
      expect(again.secret).toBe(h.config.secret);
    } finally {
      await h.close();
    }
  });
});
