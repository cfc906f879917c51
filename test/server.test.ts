import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { verifyPassword } from '../src/auth/passwords.ts';
import { TEST_SECRET } from './helpers/harness.ts';

describe('starting the server', () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    vi.restoreAllMocks();
  });

  it('creates the first Global Admin from TESSERA_ADMIN_EMAIL and TESSERA_ADMIN_PASSWORD, once', async () => {
    const env = {
      TESSERA_DATA_DIR: mkdtempSync(join(tmpdir(), 'tessera-srv-')),
      TESSERA_SECRET: TEST_SECRET,
      PORT: '0',
      LOG_LEVEL: 'silent',
      TESSERA_ADMIN_EMAIL: 'Boss@Example.com',
      TESSERA_ADMIN_PASSWORD: 'a very long password',
    };
    running = await startServer(loadConfig(env));
    const health = await fetch(`${running.url}/healthz`);
    expect(health.status).toBe(200);
    const users = await running.ctx.storage.db.selectFrom('users').selectAll().execute();
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ email: 'Boss@Example.com', is_primary: 1, status: 'active' });
    expect((await running.ctx.users.get(users[0]!.id)).roles).toEqual([{ role: 'global-admin' }]);
    expect(await verifyPassword('a very long password', users[0]!.password_hash)).toBe(true);
    await running.stop();
    running = await startServer(loadConfig({ ...env, TESSERA_ADMIN_EMAIL: 'other@example.com' }));
    expect(await running.ctx.storage.db.selectFrom('users').selectAll().execute()).toHaveLength(1);
  });

  it('without them, generates a password and prints it once', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const env = { TESSERA_DATA_DIR: mkdtempSync(join(tmpdir(), 'tessera-srv-')), TESSERA_SECRET: TEST_SECRET, PORT: '0', LOG_LEVEL: 'silent' };
    running = await startServer(loadConfig(env));
    const printed = out.mock.calls.map((c) => String(c[0])).join('');
    const password = /password: (\S+)/.exec(printed)?.[1];
    expect(password).toBeDefined();
    const user = await running.ctx.storage.db.selectFrom('users').selectAll().executeTakeFirstOrThrow();
    expect(await verifyPassword(password!, user.password_hash)).toBe(true);
    await running.stop();
    out.mockClear();
    running = await startServer(loadConfig(env));
    expect(out.mock.calls.map((c) => String(c[0])).join('')).not.toContain('password:');
  });
});
