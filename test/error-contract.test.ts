import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonPointer, REQUEST_PARTS, type FieldError } from '../src/http/errors.ts';
import { problemHandler } from '../src/http/problem-handler.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

/** RFC 6901: "" or a sequence of "/" + reference token, where "~" appears only as "~0" or "~1". */
const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/;

describe('jsonPointer', () => {
  it('escapes "~" as ~0 and "/" as ~1 (RFC 6901 §3), in that order', () => {
    expect(jsonPointer('expiration', 'days')).toBe('/expiration/days');
    expect(jsonPointer('roles', 0, 'accounts', 1)).toBe('/roles/0/accounts/1');
    expect(jsonPointer('a/b', '~1', '')).toBe('/a~1b/~01/');
    expect(jsonPointer()).toBe('');
  });
});

describe.each(DIALECTS)('every field error is { in, pointer, message } with a JSON Pointer (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'admin' })).token;
  });
  afterAll(() => h.close());

  const send = (method: string, url: string, payload?: Record<string, unknown> | string) =>
    h.request(admin, {
      method,
      url,
      ...(payload === undefined ? {} : typeof payload === 'string' ? { payload, headers: { 'content-type': 'application/json' } } : { payload }),
    });
  const key = (extra: Record<string, unknown>) => ({ name: 'k', roles: [{ role: 'global-viewer' }], ...extra });

  /** Each source of field errors, with the one place it must point at. */
  const cases: Array<[source: string, request: () => ReturnType<typeof send>, expected: Pick<FieldError, 'in' | 'pointer'>]> = [
    ['schema: missing', () => send('POST', '/api/v1/access-keys', { roles: [{ role: 'global-viewer' }] }), { in: 'body', pointer: '/name' }],
    ['schema: extra', () => send('POST', '/api/v1/access-keys', key({ admin: true })), { in: 'body', pointer: '/admin' }],
    ['schema: extra, escaped', () => send('POST', '/api/v1/access-keys', key({ 'a/b~c': 1 })), { in: 'body', pointer: '/a~1b~0c' }],
    ['schema: wrong type', () => send('POST', '/api/v1/access-keys', key({ expiration: { days: '5' } })), { in: 'body', pointer: '/expiration/days' }],
    [
      'schema: nested array item',
      () => send('POST', '/api/v1/access-keys', key({ roles: [{ role: 'cloud-account-viewer', accounts: ['a', 5] }] })),
      { in: 'body', pointer: '/roles/0/accounts/1' },
    ],
    ['schema: query', () => send('GET', '/api/v1/access-keys?limit=many'), { in: 'query', pointer: '/limit' }],
    ['service: body', () => send('POST', '/api/v1/access-keys', key({ expiration: { days: 100_000 } })), { in: 'body', pointer: '/expiration/days' }],
    ['service: body, normalized text', () => send('POST', '/api/v1/access-keys', key({ name: 'x'.repeat(65) })), { in: 'body', pointer: '/name' }],
    [
      'service: nested',
      () => send('POST', '/api/v1/credentials', { vendor: 'aws', displayName: 'c', secret: { accessKeyId: 'nope', secretAccessKey: 'x'.repeat(40) } }),
      { in: 'body', pointer: '/secret/accessKeyId' },
    ],
    ['service: query', () => send('GET', '/api/v1/access-keys?cursor=not-a-cursor'), { in: 'query', pointer: '/cursor' }],
    [
      'text check: body',
      () => send('POST', '/api/v1/access-keys', key({ roles: [{ role: 'cloud-account-viewer', accounts: ['ok', 'x\u0000'] }] })),
      { in: 'body', pointer: '/roles/0/accounts/1' },
    ],
    ['text check: query', () => send('GET', '/api/v1/access-keys?name=a%00b'), { in: 'query', pointer: '/name' }],
    ['text check: path', () => send('GET', '/api/v1/access-keys/a%00b'), { in: 'path', pointer: '/id' }],
    ['malformed JSON', () => send('POST', '/api/v1/access-keys', '{"name":'), { in: 'body', pointer: '' }],
    ['undecodable path', () => send('GET', '/api/v1/access-keys/%E0%A4%A'), { in: 'path', pointer: '' }],
  ];

  it.each(cases)('%s', async (_source, request, expected) => {
    const res = await request();
    expect(res.statusCode, res.body).toBe(400);
    const body = res.json();
    expect(body.code).toBe('validation_failed');
    expect(body.errors.length).toBeGreaterThan(0);
    for (const error of body.errors) {
      expect(Object.keys(error).sort()).toEqual(['in', 'message', 'pointer']);
      expect(REQUEST_PARTS).toContain(error.in);
      expect(error.pointer).toMatch(JSON_POINTER);
    }
    // A union (anyOf) reports each branch it tried, so the expected place is among the errors.
    expect(body.errors).toContainEqual(expect.objectContaining(expected));
    // The detail names the first field the same way.
    const [first] = body.errors as FieldError[];
    expect(body.detail).toBe(`${first!.pointer === '' ? first!.in : `${first!.in} ${first!.pointer}`}: ${first!.message}`);
  });
});

describe('a 4xx raised without one of our codes', () => {
  it('gets the generic code of its status, never a specific one that shares it (regression: 409 became name_taken)', async () => {
    const app = Fastify();
    await app.register(problemHandler);
    for (const status of [409, 404, 418]) app.get(`/${status}`, async () => Promise.reject(Object.assign(new Error('from a library'), { statusCode: status })));
    const codeOf = async (status: number) => (await app.inject({ method: 'GET', url: `/${status}` })).json().code;
    expect(await codeOf(409)).toBe('conflict');
    expect(await codeOf(404)).toBe('not_found');
    expect(await codeOf(418)).toBe('validation_failed');
    await app.close();
  });
});
