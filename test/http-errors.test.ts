import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../src/http/errors.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes to the server and reads the answer until the server closes or sends it whole. */
function raw(port: number, request: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const finish = () => {
      const [head = '', body = ''] = received.split('\r\n\r\n', 2) as [string, string];
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
      socket.destroy();
    };
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      const bodyStart = received.indexOf('\r\n\r\n');
      if (length !== undefined && bodyStart >= 0 && Buffer.byteLength(received.slice(bodyStart + 4)) >= Number(length)) finish();
    });
    socket.on('close', finish);
    // The server may close while we still write (the 64 KB header): the answer is what counts.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    socket.write(request);
  });
}

function expectProblem(answer: RawAnswer, status: number, code: keyof typeof ERRORS) {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  const body = JSON.parse(answer.body);
  expect(body).toMatchObject({ status, code, type: `urn:tessera:problem:${code}`, title: ERRORS[code].title });
  expect(ERRORS[code].status).toBe(status);
  return body;
}

// Framework-level errors do not touch the database: SQLite is enough.
describe('framework-level errors over a real HTTP connection', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await createHarness('sqlite');
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as { port: number }).port;
  });
  afterAll(() => h.close());

  const request = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
    raw(
      port,
      `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${Object.entries({
        ...headers,
        ...(body === '' ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
      })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n${body}`,
    );

  it("answers a 64 KB header with 431 problem+json (regression: Node's parser answered in Fastify's own JSON)", async () => {
    const secret = 'eyJ' + 'a'.repeat(64 * 1024);
    const answer = await request('GET', '/api/v1/access-keys', { authorization: `Bearer ${secret}` });
    expectProblem(answer, 431, 'header_too_large');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.body).not.toContain('aaaa');
  });

  it('answers a request line Node cannot parse with 400 problem+json', async () => {
    expectProblem(await raw(port, 'NOT HTTP AT ALL\r\n\r\n'), 400, 'validation_failed');
    expectProblem(await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'), 400, 'validation_failed');
  });

  it('answers a request not received in time with 408 problem+json', async () => {
    const serverSide = new Promise<Socket>((resolve) => h.app.server.once('connection', resolve));
    const client = connect(port, '127.0.0.1');
    let received = '';
    client.on('data', (chunk) => (received += chunk));
    const closed = new Promise((resolve) => client.on('close', resolve));
    client.on('error', () => {});
    client.write('GET / HTTP/1.1\r\nHost: x\r\n');
    // What Node emits when headersTimeout or requestTimeout runs out, without waiting minutes for it.
    h.app.server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), await serverSide);
    await closed;
    const [head = '', body = ''] = received.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1.1 408 /);
    expect(head).toContain('Content-Type: application/problem+json; charset=utf-8');
    expect(JSON.parse(body)).toMatchObject({ status: 408, code: 'request_timeout' });
  });

  it('answers malformed JSON, a wrong content type, a body over 1 MB, an unknown path or method and bad URL encoding with problem+json', async () => {
    const json = { 'content-type': 'application/json' };
    expectProblem(await request('POST', '/api/v1/session', json, '{"email":'), 400, 'validation_failed');
    expectProblem(await request('POST', '/api/v1/session', json, '{"email":"a@b.c"} trailing'), 400, 'validation_failed');
    expectProblem(await request('POST', '/api/v1/session', { 'content-type': 'text/plain' }, 'hello'), 415, 'unsupported_media_type');
    expectProblem(await request('POST', '/api/v1/session', { 'content-type': 'application/xml' }, '<a/>'), 415, 'unsupported_media_type');
    expectProblem(await request('POST', '/api/v1/session', json, `{"email":"${'a'.repeat(1024 * 1024)}"}`), 413, 'payload_too_large');
    expectProblem(await request('GET', '/api/v1/no/such/path'), 404, 'not_found');
    expectProblem(await request('PUT', '/healthz'), 404, 'not_found');
    expectProblem(await request('PROPFIND', '/api/v1/access-keys'), 404, 'not_found');
    const badPath = expectProblem(await request('GET', '/api/v1/access-keys/%E0%A4%A'), 400, 'validation_failed');
    expect(badPath.errors).toEqual([{ in: 'path', pointer: '', message: 'is not valid percent-encoded UTF-8' }]);
    expectProblem(await request('GET', '/api/v1/access-keys/%ED%B0%80'), 400, 'validation_failed');
  });
});
