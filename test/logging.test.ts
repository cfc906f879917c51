import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { logDestination, loggableUrl, loggerOptions, requestLineLogger, requestLogger } from '../src/http/logging.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, TEST_SECRET, type Harness } from './helpers/harness.ts';
import { addUser, PASSWORD, sessionCookieOf } from './helpers/people.ts';

const METRICS_TOKEN = 'metrics-token-Vr7Qz0pLx3';
const WRONG_PASSWORD = 'wrong-password-Zq81Kd';
const NEW_PASSWORD = 'a new long password Hx42';
const INVITEE_PASSWORD = 'invitee password Lm09Tq';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1';
const AWS_SECRET_2 = 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbROTATED99';
const AZURE_SECRET = 'azure~client~secret~Pq7';
const GCP_KEY = '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----gcpSecretMaterial-----END PRIVATE KEY-----"}';

describe.each(DIALECTS)('logs (%s)', (dialect) => {
  const lines: string[] = [];
  let h: Harness;
  let admin: string;
  const secrets = new Set<string>([
    TEST_SECRET,
    METRICS_TOKEN,
    WRONG_PASSWORD,
    NEW_PASSWORD,
    INVITEE_PASSWORD,
    PASSWORD,
    AWS_SECRET,
    AWS_SECRET_2,
    AZURE_SECRET,
    'gcpSecretMaterial',
  ]);
  /** A token and its signature alone (the part that cannot be guessed). */
  const keep = (token: string) => {
    secrets.add(token);
    for (const part of token.split('.')) if (part.length >= 20) secrets.add(part);
  };

  beforeAll(async () => {
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    h = await createHarness(dialect, { log: sink, env: { TESSERA_METRICS_TOKEN: METRICS_TOKEN } });
    admin = (await h.key([{ role: 'global-admin' }], { name: 'logged' })).token;
    keep(admin);
  });
  afterAll(() => h.close());

  it('carry no secret after every flow that handles one (regression: "url":"/invite/<token>" was logged)', async () => {
    const as = (token: string | undefined, method: string, url: string, payload?: object | string, headers: Record<string, string> = {}) =>
      h.request(token, { method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) });
    const form = (url: string, fields: Record<string, string>, token?: string) =>
      as(token, 'POST', url, new URLSearchParams(fields).toString(), { 'content-type': 'application/x-www-form-urlencoded' });

    // API keys: create, use, introspect (form and JSON), and a wrong one.
    const created = await as(admin, 'POST', '/api/v1/access-keys', { name: 'another', roles: [{ role: 'global-viewer' }] });
    expect(created.statusCode).toBe(201);
    const second = created.json().token as string;
    keep(second);
    expect((await form('/api/v1/token/introspect', { token: second }, admin)).json().active).toBe(true);
    await as(admin, 'POST', '/api/v1/token/introspect', { token: `${second}x` });
    await as(`${second}x`, 'GET', '/api/v1/access-keys');
    await as(admin, 'GET', `/api/v1/access-keys?token=${second}&access_token=${second}&api_key=${second}`, undefined, { cookie: `session=${second}` });

    // Invitations: create, inspect, resend, accept, and the console page of the link.
    const invited = await as(admin, 'POST', '/api/v1/users', { email: 'invitee@example.com', roles: [{ role: 'global-admin' }] });
    expect(invited.statusCode).toBe(201);
    const firstLink = invited.json().invitationUrl as string;
    keep(firstLink.split('/invite/')[1]!);
    const resent = await as(admin, 'POST', `/api/v1/users/${invited.json().id}/invitation`);
    expect(resent.statusCode, resent.body).toBe(201);
    const invitation = (resent.json().invitationUrl as string).split('/invite/')[1]!;
    keep(invitation);
    await as(undefined, 'GET', `/invite/${invitation}`);
    await as(undefined, 'GET', `/invite/${invitation}?next=/users`);
    expect((await as(undefined, 'POST', '/api/v1/invitations/inspect', { token: invitation })).statusCode).toBe(200);
    await as(undefined, 'POST', '/api/v1/invitations/inspect', { token: firstLink.split('/invite/')[1]! });
    expect((await as(undefined, 'POST', '/api/v1/invitations/accept', { token: invitation, password: INVITEE_PASSWORD })).statusCode).toBe(200);
    await as(undefined, 'POST', '/api/v1/invitations/accept', { token: invitation, password: INVITEE_PASSWORD });

    // Sign-in: session and token grant, right and wrong passwords; then the password change.
    const user = await addUser(h, [{ role: 'global-admin' }]);
    await as(undefined, 'POST', '/api/v1/session', { email: user.email, password: WRONG_PASSWORD });
    const session = await as(undefined, 'POST', '/api/v1/session', { email: user.email, password: PASSWORD });
    expect(session.statusCode).toBe(200);
    const cookie = sessionCookieOf(session);
    const csrf = session.json().csrfToken as string;
    secrets.add(cookie.split('=')[1]!);
    secrets.add(csrf);
    await form('/api/v1/token', { grant_type: 'password', username: user.email, password: WRONG_PASSWORD });
    const grant = await form('/api/v1/token', { grant_type: 'password', username: user.email, password: PASSWORD, client_secret: AZURE_SECRET });
    expect(grant.statusCode).toBe(200);
    const userToken = grant.json().access_token as string;
    keep(userToken);
    await as(userToken, 'GET', '/api/v1/session');
    await as(undefined, 'POST', '/api/v1/token', { grant_type: 'password', username: user.email, password: WRONG_PASSWORD });
    await as(undefined, 'PUT', '/api/v1/session/password', { currentPassword: WRONG_PASSWORD, newPassword: NEW_PASSWORD }, { cookie, 'x-csrf-token': csrf });
    const changed = await as(undefined, 'PUT', '/api/v1/session/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, { cookie, 'x-csrf-token': csrf });
    expect(changed.statusCode, changed.body).toBe(204);
    await as(undefined, 'PUT', '/api/v1/session/password', { currentPassword: NEW_PASSWORD, newPassword: PASSWORD }, { cookie, 'x-csrf-token': 'wrong-csrf' });

    // Credentials with secrets: create (three vendors), rotate one field.
    const aws = await as(admin, 'POST', '/api/v1/credentials', {
      vendor: 'aws',
      displayName: 'aws',
      secret: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: AWS_SECRET },
    });
    expect(aws.statusCode, aws.body).toBe(201);
    await as(admin, 'PATCH', `/api/v1/credentials/${aws.json().id}`, { secret: { secretAccessKey: AWS_SECRET_2 } });
    await as(admin, 'POST', '/api/v1/credentials', {
      vendor: 'azure',
      displayName: 'az',
      secret: { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', applicationId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590', applicationSecret: AZURE_SECRET },
    });
    await as(admin, 'POST', '/api/v1/credentials', { vendor: 'gcp', displayName: 'gcp', secret: { serviceAccountKey: GCP_KEY } });
    // A refused credential (bad field) still logs nothing of the body.
    await as(admin, 'POST', '/api/v1/credentials', { vendor: 'aws', displayName: 'bad', secret: { secretAccessKey: AWS_SECRET, applicationSecret: AZURE_SECRET } });

    // Metrics token, right and wrong.
    expect((await as(METRICS_TOKEN, 'GET', '/metrics')).statusCode).toBe(200);
    await as(`${METRICS_TOKEN}x`, 'GET', '/metrics');
    await as(undefined, 'GET', `/metrics?token=${METRICS_TOKEN}`);

    // Tokens pasted into paths that do not exist, or that are too long for an id.
    await as(admin, 'GET', `/api/v1/access-keys/${second}`);
    await as(admin, 'GET', `/api/v1/users/${invitation}`);
    await as(undefined, 'GET', `/api/v1/no-such-thing/${invitation}`);
    await as(undefined, 'GET', `/${userToken}`);
    const notFound = await as(undefined, 'GET', `/api/v1/nothing/${invitation}/here`);
    // Malformed JSON holding a password, and an unparsable request over a real socket with a token in a 64 KB header.
    await as(undefined, 'POST', '/api/v1/session', `{"email":"${user.email}","password":"${WRONG_PASSWORD}"`, { 'content-type': 'application/json' });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (h.app.server.address() as { port: number }).port;
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(`GET /api/v1/access-keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin}\r\nX-Pad: ${'a'.repeat(70_000)}\r\n\r\n`),
      );
      socket.on('error', () => {});
      socket.on('close', () => resolve());
      socket.resume();
    });

    await vi.waitFor(() => expect(lines.some((l) => l.includes('HTTP parser'))).toBe(true));
    const all = lines.join('\n');
    expect(all).toContain('"url":"/invite/[redacted]"');
    for (const secret of secrets) expect(all.includes(secret), `a log line holds ${secret.slice(0, 12)}…`).toBe(false);
    // Also when percent-encoded (query strings), or with the '/' of a secret escaped in JSON.
    for (const secret of secrets) expect(all.includes(encodeURIComponent(secret)) || all.includes(secret.replaceAll('/', '\\/'))).toBe(false);

    // The 404 answer echoes the path as it is logged.
    expect(notFound.json().detail).toBe('No route GET /api/v1/nothing/[redacted]/here.');

    const records = lines.map((l) => JSON.parse(l));
    const requests = records.filter((r) => r.msg === 'request');
    expect(requests.length).toBeGreaterThan(30);
    expect(requests.every((r) => typeof r.reqId === 'string')).toBe(true);
    expect(requests.find((r) => r.method === 'POST' && r.url === '/api/v1/access-keys')).toMatchObject({ status: 201, actor: 'key:logged' });
    expect(requests.find((r) => r.status === 401)).toMatchObject({ authFailure: expect.any(String) });
  });
});

describe('loggableUrl', () => {
  it('blanks sensitive query values, invitation links and token-shaped path segments, and keeps ids', () => {
    expect(loggableUrl('/a?token=abc&limit=5')).toBe('/a?token=%5Bredacted%5D&limit=5');
    expect(loggableUrl('/a?client_secret=s&x-csrf-token=t&password=p&name=ok')).toBe(
      '/a?client_secret=%5Bredacted%5D&x-csrf-token=%5Bredacted%5D&password=%5Bredacted%5D&name=ok',
    );
    expect(loggableUrl('/a/eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln')).toBe('/a/[redacted]');
    expect(loggableUrl('/invite/short')).toBe('/invite/[redacted]');
    expect(loggableUrl('/x/Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy/y')).toBe('/x/[redacted]/y');
    expect(loggableUrl('/api/v1/users/0193b2c6-1f3e-7d60-b5e9-3b5f6b7c8d9e')).toBe('/api/v1/users/0193b2c6-1f3e-7d60-b5e9-3b5f6b7c8d9e');
  });

  it('keeps short paths as they are, but still blanks a short invitation link or a JWT fragment', () => {
    expect(loggableUrl('/api/v1/cloud-accounts')).toBe('/api/v1/cloud-accounts');
    expect(loggableUrl('/invite/x')).toBe('/invite/[redacted]');
    expect(loggableUrl('/a/eyJhbGc.eyJz.c2')).toBe('/a/[redacted]');
    // 32 characters of a path segment: the shortest a token-shaped segment is blanked at.
    expect(loggableUrl(`/${'A'.repeat(32)}`)).toBe('/[redacted]');
  });
});

/** A stream that keeps what pino writes, one line per entry. */
const lineSink = (written: string[]) =>
  new Writable({
    write(chunk, _encoding, done) {
      written.push(String(chunk));
      done();
    },
  });

describe('requestLogger', () => {
  it("makes the request's pino child only when it logs, with the request id and the app's redaction", () => {
    const written: string[] = [];
    const parent = pino(loggerOptions({ logLevel: 'info' }), lineSink(written));
    const child = vi.spyOn(parent, 'child');
    const quiet = requestLogger(parent, { reqId: 'r-quiet' }, {});
    expect(quiet.level).toBe('info');
    const logged = requestLogger(parent, { reqId: 'r-1' }, {});
    expect(child).toHaveBeenCalledTimes(1); // for the level read above, not for the logger that was not used
    logged.error({ token: 'secret-token-value', detail: 'boom' }, 'unexpected error');
    logged.error('again');
    expect(child).toHaveBeenCalledTimes(2);
    const records = written.map((l) => JSON.parse(l));
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ reqId: 'r-1', token: '[redacted]', detail: 'boom', msg: 'unexpected error' });
    expect(records[1]).toMatchObject({ reqId: 'r-1', msg: 'again' });
  });

  it('writes the request line without a redaction pass, with the same fields', () => {
    const written: string[] = [];
    const parent = pino(loggerOptions({ logLevel: 'info' }), lineSink(written));
    requestLineLogger(parent).info({ reqId: 'r-2', method: 'GET', url: '/api/v1/cloud-accounts', status: 200 }, 'request');
    expect(JSON.parse(written[0]!)).toMatchObject({ level: 30, reqId: 'r-2', method: 'GET', url: '/api/v1/cloud-accounts', status: 200, msg: 'request' });
  });
});

describe('logDestination', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-log-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes lines in blocks: a lone line within the flush interval, not at once', async () => {
    const file = join(dir, 'periodic.log');
    const log = pino(loggerOptions({ logLevel: 'info' }), logDestination(file));
    log.info('first');
    expect(readFileSync(file, 'utf8')).toBe('');
    await vi.waitFor(() => expect(readFileSync(file, 'utf8')).toContain('"msg":"first"'), { timeout: 2000, interval: 20 });
  });

  it('writes what is pending when the process exits', () => {
    const file = join(dir, 'exit.log');
    const script = `import pino from 'pino'; import { logDestination, loggerOptions } from ${JSON.stringify(new URL('../src/http/logging.ts', import.meta.url).href)};
      const log = pino(loggerOptions({ logLevel: 'info' }), logDestination(${JSON.stringify(file)}));
      log.info('last words'); process.exit(3);`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(3);
    expect(readFileSync(file, 'utf8')).toContain('"msg":"last words"');
  });
});
