import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

describe.each(DIALECTS)('the tessera CLI (%s)', (dialect) => {
  let h: Harness;
  // The CLI runs with the real clock; the server under test uses it too.
  beforeAll(async () => {
    h = await createHarness(dialect, { clock: Object.assign(() => new Date(), { set() {}, advance() {} }) });
  });
  afterAll(() => h.close());

  const api = (token: string, url = '/api/v1/access-keys') => h.request(token, { method: 'GET', url });

  it('keys create --json prints the key with its token, which the running server accepts at once', async () => {
    const res = await runCli(['keys', 'create', '--name', 'ci-bot', '--role', 'global-admin', '--json'], h.env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const key = JSON.parse(res.stdout);
    expect(key).toMatchObject({ name: 'ci-bot', roles: [{ role: 'global-admin' }], status: 'active' });
    expect(key.token).toMatch(/^eyJ/);
    expect((await api(key.token)).statusCode).toBe(200);
  });

  it('keys create takes several roles and an expiration; refuses bad arguments with one line and a non-zero exit', async () => {
    const res = await runCli(['keys', 'create', '--name', 'multi', '--role', 'global-viewer', '--role', 'cloud-account-viewer:all', '--days', '10', '--json'], h.env);
    expect(res.code).toBe(0);
    const key = JSON.parse(res.stdout);
    expect(key.roles).toEqual([{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: 'all' }]);
    expect(Date.parse(key.expiresAt) - Date.parse(key.createdAt)).toBe(10 * 24 * 3600 * 1000);

    const human = await runCli(['keys', 'create', '--name', 'human', '--role', 'global-viewer', '--expires', '7d'], h.env);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/cannot be shown again/);
    expect(human.stdout).toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);

    const dup = await runCli(['keys', 'create', '--name', 'CI-BOT', '--role', 'global-admin'], h.env);
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim()).toBe('error: An access key named "CI-BOT" already exists.');
    const badRole = await runCli(['keys', 'create', '--name', 'x', '--role', 'root'], h.env);
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toContain('is not a role');
    const unknownAccount = await runCli(['keys', 'create', '--name', 'x', '--role', 'cloud-account-viewer:ghost'], h.env);
    expect(unknownAccount.code).toBe(1);
    expect(unknownAccount.stderr).toContain('ghost');
    const badDays = await runCli(['keys', 'create', '--name', 'x', '--role', 'global-admin', '--days', '9999'], h.env);
    expect(badDays.code).toBe(1);
    expect(badDays.stderr.trim()).toBe('error: body /expiration/days: must be a whole number from 1 to 730');
  });

  it('keys list, edit and remove; the server sees each change on its next request', async () => {
    const created = JSON.parse((await runCli(['keys', 'create', '--name', 'worker', '--role', 'global-admin', '--json'], h.env)).stdout);
    expect((await api(created.token)).statusCode).toBe(200);

    const list = await runCli(['keys', 'list', '--json'], h.env);
    expect(list.code).toBe(0);
    const keys = JSON.parse(list.stdout);
    expect(keys.map((k: { name: string }) => k.name)).toContain('worker');
    expect(list.stdout).not.toContain(created.token);
    const table = await runCli(['keys', 'list'], h.env);
    expect(table.stdout).toMatch(/^NAME\s+ROLES\s+CREATED\s+EXPIRES\s+LAST USED\s+STATUS/m);

    const edit = await runCli(['keys', 'edit', 'worker', '--role', 'global-viewer'], h.env);
    expect(edit.code).toBe(0);
    // Now a Global Viewer: the access-keys API is closed to it on the very next request.
    expect((await api(created.token)).statusCode).toBe(403);

    const remove = await runCli(['keys', 'remove', 'WORKER'], h.env);
    expect(remove.code).toBe(0);
    expect(remove.stdout).toContain('Removed access key "worker"');
    const refused = await api(created.token);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer error="invalid_token"');

    const missing = await runCli(['keys', 'remove', 'worker'], h.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('was not found');
  });

  it('keys edit and remove find a key by its folded name; keys create refuses an invisible character', async () => {
    const created = JSON.parse((await runCli(['keys', 'create', '--name', 'fold-cli', '--role', 'global-admin', '--json'], h.env)).stdout);
    const twin = await runCli(['keys', 'create', '--name', 'fold-cli\u200b', '--role', 'global-admin'], h.env);
    expect(twin.code).toBe(1);
    expect(twin.stderr).toContain('U+200B');
    const wide = await runCli(['keys', 'create', '--name', 'ｆｏｌｄ-ｃｌｉ', '--role', 'global-admin'], h.env);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain('already exists');
    const edit = await runCli(['keys', 'edit', 'ＦＯＬＤ-ＣＬＩ', '--role', 'global-viewer'], h.env);
    expect(edit.code).toBe(0);
    expect(edit.stdout).toContain('Access key "fold-cli" now has');
    const remove = await runCli(['keys', 'remove', 'ｆｏｌｄ-ｃｌｉ'], h.env);
    expect(remove.code).toBe(0);
    expect(remove.stdout).toContain('Removed access key "fold-cli"');
    expect((await api(created.token)).statusCode).toBe(401);
  });

  it('keys roll prints a new token; the old one works for --grace minutes (0: not at all); --description is kept', async () => {
    const created = JSON.parse(
      (await runCli(['keys', 'create', '--name', 'rolling', '--role', 'global-admin', '--days', '12', '--description', 'CI deploys', '--json'], h.env)).stdout,
    );
    expect(created).toMatchObject({ description: 'CI deploys', createdBy: 'cli' });
    const rolled = await runCli(['keys', 'roll', 'rolling', '--grace', '5', '--json'], h.env);
    expect(rolled.code, rolled.stderr).toBe(0);
    const first = JSON.parse(rolled.stdout);
    expect(first).toMatchObject({ id: created.id, description: 'CI deploys' });
    expect(Date.parse(first.previousTokenExpiresAt) - Date.now()).toBeGreaterThan(4 * 60_000);
    expect(Date.parse(first.previousTokenExpiresAt) - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    // The day count it was created with.
    expect(Math.round((Date.parse(first.expiresAt) - Date.now()) / 86_400_000)).toBe(12);
    expect((await api(created.token)).statusCode).toBe(200);
    expect((await api(first.token)).statusCode).toBe(200);

    const human = await runCli(['keys', 'roll', 'rolling', '--grace', '0', '--expires', '7d'], h.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('The old token no longer works.');
    const second = /eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(human.stdout)?.[0] as string;
    expect((await api(first.token)).statusCode).toBe(401);
    expect((await api(created.token)).statusCode).toBe(401);
    expect((await api(second)).statusCode).toBe(200);

    const badGrace = await runCli(['keys', 'roll', 'rolling', '--grace', '10081'], h.env);
    expect(badGrace.code).not.toBe(0);
    expect(badGrace.stderr).toContain('from 0 to 10080');
    const described = JSON.parse((await runCli(['keys', 'edit', 'rolling', '--description', '', '--json'], h.env)).stdout);
    expect(described).toMatchObject({ description: null, roles: [{ role: 'global-admin' }] });
    const nothing = await runCli(['keys', 'edit', 'rolling'], h.env);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain('give --role, --description, --allow');
  });

  it('keys create and edit set, replace and clear a network allowlist and a rate limit', async () => {
    const created = await runCli(
      ['keys', 'create', '--name', 'guarded', '--role', 'global-admin', '--allow', '10.1.2.3/8', '--allow', '2001:DB8::/32', '--rate-limit', '100/60', '--json'],
      h.env,
    );
    expect(created.stderr).toBe('');
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'], rateLimit: { requests: 100, perSeconds: 60 } });
    const fromOutside = await h.request(key.token, { method: 'GET', url: '/api/v1/access-keys', remoteAddress: '198.51.100.1' });
    expect(fromOutside.json().code).toBe('ip_not_allowed');

    const human = await runCli(['keys', 'edit', 'guarded', '--allow', '198.51.100.0/24', '--rate-limit', '5/1'], h.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('usable from 198.51.100.0/24, at most 5 requests every 1 s');
    const cleared = JSON.parse((await runCli(['keys', 'edit', 'guarded', '--allow-any', '--no-rate-limit', '--json'], h.env)).stdout);
    expect(cleared).toMatchObject({ allowedCidrs: [], rateLimit: null });

    for (const [args, message] of [
      [['--allow', '10.0.0.0/33'], '"10.0.0.0/33" is not an IPv4 or IPv6 address or CIDR range'],
      [['--rate-limit', '100'], '"100" is not a rate limit: use N/S'],
      [['--rate-limit', '0/60'], 'must be a whole number from 1 to 1000000'],
      [['--allow', '10.0.0.1', '--allow-any'], 'cannot be used with option'],
    ] as const) {
      const bad = await runCli(['keys', 'edit', 'guarded', ...args], h.env);
      expect(bad.code, args.join(' ')).not.toBe(0);
      expect(bad.stderr).toContain(message);
    }
  });

  it('signing-keys rotate makes a new signer; tokens signed before keep working', async () => {
    const before = JSON.parse((await runCli(['keys', 'create', '--name', 'pre-rotation', '--role', 'global-admin', '--json'], h.env)).stdout);
    const rotate = await runCli(['signing-keys', 'rotate'], h.env);
    expect(rotate.code).toBe(0);
    const kid = /New current signing key: (\S+)/.exec(rotate.stdout)?.[1];
    expect(kid).toBeDefined();
    const after = JSON.parse((await runCli(['keys', 'create', '--name', 'post-rotation', '--role', 'global-admin', '--json'], h.env)).stdout);
    expect(JSON.parse(Buffer.from(after.token.split('.')[0], 'base64url').toString()).kid).toBe(kid);
    // The running server verifies the new key's tokens at once, and the old ones still.
    expect((await api(after.token)).statusCode).toBe(200);
    expect((await api(before.token)).statusCode).toBe(200);
  });

  it('users create adds an active user with a password from stdin', async () => {
    const res = await runCli(
      ['users', 'create', '--email', 'viewer@example.com', '--role', 'global-viewer', '--password-stdin', '--json'],
      h.env,
      'correct horse battery staple\n',
    );
    expect(res.code).toBe(0);
    const user = JSON.parse(res.stdout);
    expect(user).toMatchObject({ email: 'viewer@example.com', roles: [{ role: 'global-viewer' }], status: 'active' });
    expect(res.stdout).not.toContain('correct horse');
    const short = await runCli(['users', 'create', '--email', 'short@example.com', '--role', 'global-viewer', '--password-stdin'], h.env, 'short\n');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('at least 12 characters');
  });

  it('migrate is idempotent, and every command has --help', async () => {
    const migrate = await runCli(['migrate'], h.env);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toContain('up to date');
    const help = await runCli(['keys', 'create', '--help'], h.env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--expires');
    expect(help.stdout).toContain('--days');
  });
});

describe('CLI configuration errors', () => {
  it('stop with a message that says how to fix them', async () => {
    const res = await runCli(['keys', 'list'], { DATABASE_URL: 'mysql://localhost/db', TESSERA_SECRET: 'x'.repeat(40) });
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toMatch(/^configuration error: DATABASE_URL must be a postgres:\/\/ URL/);
    const noSecret = await runCli(['keys', 'list'], { DATABASE_URL: 'postgres://localhost/db' });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('TESSERA_SECRET is required with DATABASE_URL');
  });
});
