import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.ts';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { loadConfig } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { loggableUrl, loggerOptions } from '../src/http/logging.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testClock, TEST_SECRET } from './helpers/harness.ts';
import type { FastifyInstance } from 'fastify';

describe('logs', () => {
  const lines: string[] = [];
  let ctx: Context;
  let app: FastifyInstance;
  let token: string;

  beforeAll(async () => {
    const config = loadConfig({ TESSERA_DATA_DIR: mkdtempSync(join(tmpdir(), 'tessera-log-')), TESSERA_SECRET: TEST_SECRET, LOG_LEVEL: 'info' });
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    ctx = await createContext(config, pino(loggerOptions(config), sink), { clock: testClock() });
    app = await buildApp(ctx);
    token = (await ctx.accessKeys.create(CLI_ACTOR, { name: 'logged', roles: [{ role: 'global-admin' }] })).token;
  });
  afterAll(async () => {
    await app.close();
    await ctx.close();
  });

  it('write one line per request, and never a token, a signature or a password', async () => {
    lines.length = 0;
    const created = await app.inject({ method: 'POST', url: '/api/v1/access-keys', headers: { authorization: `Bearer ${token}` }, payload: { name: 'another', roles: [{ role: 'global-viewer' }] } });
    const secondToken = created.json().token as string;
    await app.inject({ method: 'GET', url: `/api/v1/access-keys?token=${token}`, headers: { authorization: `bearer ${token}`, cookie: `session=${token}` } });
    await app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: `Bearer ${token}x` } });
    // A token pasted into the path: too long for an id; answered without echoing it.
    const pasted = await app.inject({ method: 'GET', url: `/api/v1/access-keys/${secondToken}`, headers: { authorization: `Bearer ${token}` } });
    expect(pasted.statusCode).toBe(404);
    expect(pasted.json().code).toBe('not_found');
    expect(pasted.body).not.toContain(secondToken.split('.')[2]);
    // The line is written by the onResponse hook, just after the answer.
    await vi.waitFor(() => expect(lines).toHaveLength(4));
    const all = lines.join('\n');
    for (const secret of [token, secondToken, token.split('.')[2]!, secondToken.split('.')[2]!, TEST_SECRET]) {
      expect(all).not.toContain(secret);
    }
    const records = lines.map((l) => JSON.parse(l));
    expect(records[0]).toMatchObject({ msg: 'request', method: 'POST', status: 201, actor: 'key:logged' });
    expect(records[2]).toMatchObject({ status: 401, authFailure: expect.any(String) });
    expect(records.every((r) => typeof r.reqId === 'string')).toBe(true);
  });

  it('blank sensitive query values and token-shaped path segments', () => {
    expect(loggableUrl('/a?token=abc&limit=5')).toBe('/a?token=%5Bredacted%5D&limit=5');
    expect(loggableUrl('/a/eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln')).toBe('/a/[redacted]');
  });
});
