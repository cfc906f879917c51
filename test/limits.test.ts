import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount } from './helpers/inventory.ts';

/** One raw HTTP request to the listening server (no client-side limits in the way). */
function raw(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers, maxHeaderSize: 1024 * 1024 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/**
 * The status line the server answers to a raw request. The server may close the socket while
 * oversized headers are still being sent; what it answered before that is what counts.
 */
function rawStatus(port: number, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = '';
    // No half-close: the server answers and closes (Connection: close).
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(head));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', (error) => (received === '' ? reject(error) : undefined));
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (match === null) reject(new Error(`no HTTP answer to ${head.slice(0, 40)}…: ${JSON.stringify(received.slice(0, 100))}`));
      else resolve(Number(match[1]));
    });
  });
}

describe.each(DIALECTS)('request limits (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let port: number;

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as AddressInfo).port;
  });
  afterAll(() => h.close());

  it('refuses a JSON or form body over 1 MiB with 413 payload_too_large', async () => {
    const big = JSON.stringify({ vendor: 'aws', displayName: 'x'.repeat(1024 * 1024), externalId: '123456789012' });
    const json = await h.request(admin, { method: 'POST', url: '/api/v1/cloud-accounts', payload: big, headers: { 'content-type': 'application/json' } });
    expect(json.statusCode).toBe(413);
    expect(json.json().code).toBe('payload_too_large');
    const form = await h.request(admin, {
      method: 'POST',
      url: '/api/v1/token/introspect',
      payload: `token=${'a'.repeat(1024 * 1024 + 1)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.statusCode).toBe(413);
    expect(form.json().code).toBe('payload_too_large');
    // Through a real socket, with a lying content-length too.
    const real = await raw(port, {
      method: 'PUT',
      path: '/api/v1/policy/rules',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) },
      body: '{"rules":[',
    });
    expect(real.status).toBe(413);
  });

  it('refuses a bearer token over a few kilobytes with 401 before verifying anything', async () => {
    const verify = vi.spyOn(h.ctx.tokens, 'verify');
    try {
      const token = `${'a'.repeat(3000)}.${'b'.repeat(3000)}.${'c'.repeat(100)}`;
      const res = await h.request(token, { method: 'GET', url: '/api/v1/cloud-accounts' });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_token');
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(verify).not.toHaveBeenCalled();
    } finally {
      verify.mockRestore();
    }
  });

  it('refuses oversized headers and URLs with 431, never 5xx', async () => {
    const request = (path: string, header: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${header}\r\nConnection: close\r\n\r\n`;
    expect(await rawStatus(port, request('/api/v1/cloud-accounts', `Authorization: Bearer ${'x'.repeat(20 * 1024)}`))).toBe(431);
    expect(await rawStatus(port, request('/api/v1/cloud-accounts', `Cookie: c=${'x'.repeat(20 * 1024)}`))).toBe(431);
    expect(await rawStatus(port, request(`/api/v1/assets?name=${'x'.repeat(20 * 1024)}`, `Authorization: Bearer ${admin}`))).toBe(431);
    // Just under the limits, the same request is served.
    expect(await rawStatus(port, request(`/api/v1/assets?name=${'x'.repeat(200)}`, `Authorization: Bearer ${admin}`))).toBe(200);
    // The server is still fine afterwards.
    expect((await raw(port, { path: '/healthz' })).status).toBe(200);
  });

  it('answers malformed input with 4xx problems, never 5xx', async () => {
    const account = await addAccount(h);
    const cases: { options: Parameters<Harness['request']>[1]; status: number; code: string }[] = [
      {
        options: { method: 'POST', url: '/api/v1/cloud-accounts', payload: '{"vendor":', headers: { 'content-type': 'application/json' } },
        status: 400,
        code: 'validation_failed',
      },
      {
        options: { method: 'POST', url: '/api/v1/cloud-accounts', payload: 'vendor=aws', headers: { 'content-type': 'text/plain' } },
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        options: { method: 'POST', url: '/api/v1/cloud-accounts', payload: '<a/>', headers: { 'content-type': 'application/xml' } },
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        options: { method: 'PUT', url: '/api/v1/policy/rules', payload: '['.repeat(50_000) + ']'.repeat(50_000), headers: { 'content-type': 'application/json' } },
        status: 400,
        code: 'validation_failed',
      },
      {
        options: {
          method: 'PUT',
          url: '/api/v1/policy/rules',
          payload: `{"rules":[{"name":${'['.repeat(20_000)}${']'.repeat(20_000)}}]}`,
          headers: { 'content-type': 'application/json' },
        },
        status: 400,
        code: 'validation_failed',
      },
      {
        options: { method: 'PUT', url: '/api/v1/policy/rules', payload: '{"rules":[],"__proto__":{"x":1}}', headers: { 'content-type': 'application/json' } },
        status: 400,
        code: 'validation_failed',
      },
      { options: { method: 'GET', url: `/api/v1/assets?${Array.from({ length: 2000 }, (_, i) => `p${i}=1`).join('&')}` }, status: 400, code: 'validation_failed' },
      { options: { method: 'GET', url: '/api/v1/assets?limit=99999999999999999999' }, status: 400, code: 'validation_failed' },
      { options: { method: 'GET', url: '/api/v1/assets?type=virtual-machine&type=database' }, status: 400, code: 'validation_failed' },
      { options: { method: 'GET', url: `/api/v1/assets/${'x'.repeat(300)}` }, status: 404, code: 'not_found' },
      { options: { method: 'GET', url: '/api/v1/assets/%E0%A4%A' }, status: 400, code: 'validation_failed' },
      {
        options: {
          method: 'POST',
          url: `/api/v1/assets/ast-x/cves`,
          payload: { cves: Array.from({ length: 501 }, (_, i) => ({ id: `CVE-2020-${1000 + i}`, severity: 'low' })) },
        },
        status: 400,
        code: 'validation_failed',
      },
      {
        options: {
          method: 'PUT',
          url: `/api/v1/cloud-accounts/${account.id}/assets`,
          payload: { assets: [{ resourceId: 'r', type: 'database', name: 'n', region: 'r', properties: { nested: { deep: true } } }] },
        },
        status: 400,
        code: 'validation_failed',
      },
      { options: { method: 'PATCH', url: `/api/v1/cloud-accounts/${account.id}`, payload: { displayName: 'ok\u0000' } }, status: 400, code: 'validation_failed' },
    ];
    for (const { options, status, code } of cases) {
      const res = await h.request(admin, options);
      const where = `${options.method} ${String(options.url).slice(0, 60)} ${String(typeof options.payload === 'string' ? options.payload.slice(0, 40) : '')}`;
      expect(res.statusCode, `${where}: ${res.body.slice(0, 200)}`).toBe(status);
      expect(res.headers['content-type'], where).toContain('application/problem+json');
      expect(res.json().code, where).toBe(code);
    }
  });
});
