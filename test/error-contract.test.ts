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
    ['schema: out of range', () => send('POST', '/api/v1/access-keys', key({ expiration: { days: 100_000 } })), { in: 'body', pointer: '/expiration/days' }],
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
    // One sentence per field: a union (anyOf) no longer reports each branch it tried.
    expect(new Set(body.errors.map((e: FieldError) => `${e.in} ${e.pointer}`)).size).toBe(body.errors.length);
    expect(body.errors).toContainEqual(expect.objectContaining(expected));
    // The detail names the first field the same way.
    const [first] = body.errors as FieldError[];
    expect(body.detail).toBe(`${first!.pointer === '' ? first!.in : `${first!.in} ${first!.pointer}`}: ${first!.message}`);
  });
});

describe('validation messages say what is allowed, one per field', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness('sqlite');
    admin = (await h.key([{ role: 'global-admin' }], { name: 'admin' })).token;
  });
  afterAll(() => h.close());
  const errorsFor = async (body: Record<string, unknown>) =>
    (await h.request(admin, { method: 'POST', url: '/api/v1/access-keys', payload: { name: 'k', roles: [{ role: 'global-viewer' }], ...body } })).json();

  it('an unknown expiration preset: one error naming every preset and the custom form (regression: eight "must be equal to constant")', async () => {
    const answer = await errorsFor({ expiration: '2w' });
    expect(answer.errors).toEqual([{ in: 'body', pointer: '/expiration', message: 'must be 7d, 30d, 90d, 6mo, 1y or { days: 1–730 }' }]);
    expect(answer.detail).toBe('body /expiration: must be 7d, 30d, 90d, 6mo, 1y or { days: 1–730 }');
  });

  it('a custom expiration is pointed into: its days, told the whole range whatever was wrong', async () => {
    for (const days of ['5', 0, 731, 1.5]) {
      expect((await errorsFor({ expiration: { days } })).errors, String(days)).toEqual([
        { in: 'body', pointer: '/expiration/days', message: 'must be a whole number from 1 to 730' },
      ]);
    }
  });

  it('any bounded number names its range, in the query too', async () => {
    for (const limit of ['0', '500', 'many']) {
      const res = await h.request(admin, { method: 'GET', url: `/api/v1/access-keys?limit=${limit}` });
      expect(res.json().errors, limit).toEqual([{ in: 'query', pointer: '/limit', message: 'must be a whole number from 1 to 200' }]);
    }
  });

  it('a Cloud Account Viewer grant without accounts points at its accounts', async () => {
    expect((await errorsFor({ roles: [{ role: 'cloud-account-viewer' }] })).errors).toEqual([
      { in: 'body', pointer: '/roles/0/accounts', message: 'is required: all or a list of strings' },
    ]);
  });

  it('an unknown role names the roles; a wrong type names the type', async () => {
    expect((await errorsFor({ roles: [{ role: 'boss' }] })).errors).toEqual([
      { in: 'body', pointer: '/roles/0/role', message: 'must be global-admin, global-viewer or cloud-account-viewer' },
    ]);
    expect((await errorsFor({ name: 5 })).errors).toEqual([{ in: 'body', pointer: '/name', message: 'must be a string' }]);
  });

  it('a query filter names its values', async () => {
    const answer = (await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?role=boss' })).json();
    expect(answer.errors).toEqual([{ in: 'query', pointer: '/role', message: 'must be global-admin, global-viewer or cloud-account-viewer' }]);
  });
});

describe('an instance with a lower TESSERA_MAX_KEY_DAYS names its own maximum', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness('sqlite', { env: { TESSERA_MAX_KEY_DAYS: '90' } });
    admin = (await h.key([{ role: 'global-admin' }], { name: 'admin', expiration: '90d' })).token;
  });
  afterAll(() => h.close());
  const send = (url: string, payload: Record<string, unknown>) => h.request(admin, { method: 'POST', url, payload });

  it('on create and roll, for an unknown preset and for days past it (regression: "{ days: a whole number ≥ 1 }")', async () => {
    const create = (expiration: unknown) => send('/api/v1/access-keys', { name: 'k', roles: [{ role: 'global-viewer' }], expiration });
    expect((await create('2w')).json().errors).toEqual([{ in: 'body', pointer: '/expiration', message: 'must be 7d, 30d, 90d, 6mo, 1y or { days: 1–90 }' }]);
    const tooLong = await create({ days: 91 });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().errors).toEqual([{ in: 'body', pointer: '/expiration/days', message: 'must be a whole number from 1 to 90' }]);

    const created = await create({ days: 90 });
    expect(created.statusCode, created.body).toBe(201);
    const roll = (expiration: unknown) => send(`/api/v1/access-keys/${created.json().id}/roll`, { expiration });
    expect((await roll('2w')).json().errors).toEqual([{ in: 'body', pointer: '/expiration', message: 'must be 7d, 30d, 90d, 6mo, 1y or { days: 1–90 }' }]);
    expect((await roll({ days: 91 })).json().errors).toEqual([{ in: 'body', pointer: '/expiration/days', message: 'must be a whole number from 1 to 90' }]);
  });

  it('refuses a preset longer than its maximum, the default six months included, and names the maximum', async () => {
    const create = (expiration?: unknown) =>
      send('/api/v1/access-keys', { name: `preset-${String(expiration)}`, roles: [{ role: 'global-viewer' }], ...(expiration === undefined ? {} : { expiration }) });
    for (const expiration of ['6mo', '1y', undefined]) {
      const refused = await create(expiration);
      expect(refused.statusCode).toBe(400);
      expect(refused.json().errors).toEqual([
        { in: 'body', pointer: '/expiration', message: `${expiration ?? '6mo'} is longer than this server allows: choose at most 90 days (TESSERA_MAX_KEY_DAYS)` },
      ]);
    }
    const allowed = await create('90d');
    expect(allowed.statusCode, allowed.body).toBe(201);
  });

  it('in its OpenAPI document', async () => {
    const document = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const daysOf = (path: string) =>
      document.paths[path].post.requestBody.content['application/json'].schema.properties.expiration.anyOf.find((branch: { type?: string }) => branch.type === 'object')
        .properties.days;
    expect(daysOf('/api/v1/access-keys')).toMatchObject({ minimum: 1, maximum: 90 });
    expect(daysOf('/api/v1/access-keys/{id}/roll')).toMatchObject({ minimum: 1, maximum: 90 });
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
