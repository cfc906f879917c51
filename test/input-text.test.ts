import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { badTextPointer, parseUrlEncoded } from '../src/http/input-text.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addUser, PASSWORD } from './helpers/people.ts';

const MESSAGE = 'is not valid text (it holds a NUL character, an unpaired surrogate or bytes that are not UTF-8)';

/** 400 validation_failed pointing exactly at `pointer` in `part`, never a 500. */
function expectRefused(res: LightMyRequestResponse, part: string, pointer: string) {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: part, pointer, message: MESSAGE }] });
  expect(res.json().detail).toBe(`${part} ${pointer}: ${MESSAGE}`);
}

describe.each(DIALECTS)('text that enters the API (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let user: { id: string; email: string };
  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'admin' })).token;
    user = await addUser(h, [{ role: 'global-admin' }]);
  });
  afterAll(() => h.close());

  const json = (method: string, url: string, body: string, token: string | undefined = admin) =>
    h.request(token, { method, url, payload: body, headers: { 'content-type': 'application/json' } });
  const form = (body: string) => h.app.inject({ method: 'POST', url: '/api/v1/token', payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  it('refuses NUL and unpaired surrogates at unauthenticated sign-in (regression: 500 on PostgreSQL)', async () => {
    expectRefused(await json('POST', '/api/v1/session', JSON.stringify({ email: 'a\u0000b@example.com', password: PASSWORD }), undefined), 'body', '/email');
    expectRefused(await json('POST', '/api/v1/session', JSON.stringify({ email: user.email, password: 'x\u0000y' }), undefined), 'body', '/password');
    // JSON.stringify escapes a lone surrogate as \udc00: the server reads it back as one.
    expectRefused(await json('POST', '/api/v1/session', JSON.stringify({ email: 'a\udc00b@example.com', password: PASSWORD }), undefined), 'body', '/email');
    expectRefused(await json('POST', '/api/v1/session', '{"email":"a@example.com","password":"\\ud800"}', undefined), 'body', '/password');
    // The right password still works.
    expect((await json('POST', '/api/v1/session', JSON.stringify({ email: user.email, password: PASSWORD }), undefined)).statusCode).toBe(200);
  });

  it('refuses them in a key name, nested fields and array items (regression: "a\\udc00b" and "a\\udc01b" were both taken)', async () => {
    expectRefused(await json('POST', '/api/v1/access-keys', JSON.stringify({ name: 'a\udc00b', roles: [{ role: 'global-viewer' }] })), 'body', '/name');
    expectRefused(await json('POST', '/api/v1/access-keys', JSON.stringify({ name: 'a\udc01b', roles: [{ role: 'global-viewer' }] })), 'body', '/name');
    expectRefused(await json('POST', '/api/v1/access-keys', JSON.stringify({ name: 'nul\u0000', roles: [{ role: 'global-viewer' }] })), 'body', '/name');
    expectRefused(
      await json('POST', '/api/v1/access-keys', JSON.stringify({ name: 'ok', roles: [{ role: 'cloud-account-viewer', accounts: ['fine', 'x\ud83d'] }] })),
      'body',
      '/roles/0/accounts/1',
    );
    expectRefused(await json('POST', '/api/v1/access-keys', JSON.stringify({ name: 'ok', roles: [{ role: 'global-viewer', ['\u0000']: 1 }] })), 'body', '/roles/0');
    const listed = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?limit=100' });
    expect(listed.json().items.map((k: { name: string }) => k.name)).toEqual(['admin']);
    // A surrogate pair (an emoji) is well-formed text and is kept as sent.
    const emoji = await json('POST', '/api/v1/access-keys', JSON.stringify({ name: 'deploy 🚀', roles: [{ role: 'global-viewer' }] }));
    expect(emoji.statusCode, emoji.body).toBe(201);
    expect(emoji.json().name).toBe('deploy 🚀');
  });

  it('refuses them in a query filter, raw or percent-encoded, and in path ids', async () => {
    const get = (url: string) => h.request(admin, { method: 'GET', url });
    expectRefused(await get('/api/v1/access-keys?name=a%00b'), 'query', '/name');
    expectRefused(await get('/api/v1/access-keys?name=a%ED%B0%80b'), 'query', '/name');
    expectRefused(await get('/api/v1/access-keys?name=a%C3'), 'query', '/name');
    expectRefused(await get('/api/v1/access-keys?limit=5&name=%F0%9F%9A'), 'query', '/name');
    expect((await get('/api/v1/access-keys?name=%F0%9F%9A%80')).statusCode).toBe(200);
    // A '%' not followed by two hex digits is literal text, as browsers read it.
    expect((await get('/api/v1/access-keys?name=100%25%zz')).statusCode).toBe(200);
    expectRefused(await get('/api/v1/access-keys/a%00b'), 'path', '/id');
    expectRefused(await get(`/api/v1/users/${user.id}%00`), 'path', '/id');
    const badPath = await get('/api/v1/access-keys/a%ED%B0%80b');
    expect(badPath.statusCode).toBe(400);
    expect(badPath.json().errors).toEqual([{ in: 'path', pointer: '', message: 'is not valid percent-encoded UTF-8' }]);
  });

  it('refuses them in a form body (POST /api/v1/token), percent-encoded', async () => {
    expectRefused(await form(`grant_type=password&username=a%00b&password=x`), 'body', '/username');
    expectRefused(await form(`grant_type=password&username=${encodeURIComponent(user.email)}&password=%ED%B0%80`), 'body', '/password');
    expectRefused(await form(`grant_type=password&username=${encodeURIComponent(user.email)}&password=ok&scope=a%00`), 'body', '/scope');
    const ok = await form(`grant_type=password&username=${encodeURIComponent(user.email)}&password=${encodeURIComponent(PASSWORD)}`);
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('a NUL in a cookie (decoded by the cookie parser) is not a 500', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: 'tessera_session=a%00b' } });
    expect(res.statusCode).toBe(401);
  });
});

describe('the text check and the URL-encoded parser', () => {
  it('names the first bad string or key', () => {
    expect(badTextPointer({ a: ['ok', { b: 'x\u0000' }] })).toBe('/a/1/b');
    expect(badTextPointer({ ['\udc00']: 'x' })).toBe('');
    expect(badTextPointer({ ok: { ['a/b~c']: 'x\u0000' } })).toBe('/ok/a~1b~0c');
    expect(badTextPointer('x\u0000')).toBe('');
    expect(badTextPointer({ a: '😀', b: 1, c: null, d: [true] })).toBeUndefined();
  });
  it('decodes like URLSearchParams for valid text, and marks undecodable escapes as lone surrogates', () => {
    const text = 'a=1&a=2&b=x+y%20z&c=%F0%9F%98%80&d&e=%zz&=empty';
    const parsed = parseUrlEncoded(text);
    expect({ ...parsed }).toEqual({ a: ['1', '2'], b: 'x y z', c: '😀', d: '', e: '%zz', '': 'empty' });
    expect(parseUrlEncoded('n=%ED%B0%80')['n']).toBe('\udced\udcb0\udc80');
  });
});
