import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { type Context, createContext } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { runCli } from './helpers/cli.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness, TEST_SECRET } from './helpers/harness.ts';

const BIN = new URL('../bin/tessera.js', import.meta.url).pathname;
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;

/** A server process's context and app on an existing SQLite data folder, as `serve` makes them. */
async function serverOn(env: Record<string, string>): Promise<{ ctx: Context; app: FastifyInstance; get(token: string): Promise<number>; close(): Promise<void> }> {
  const config = loadConfig({ TESSERA_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...env });
  const ctx = await createContext(config, createLogger(config));
  const app = await buildApp(ctx);
  await app.ready();
  return {
    ctx,
    app,
    get: async (token) => (await app.inject({ method: 'GET', url: '/api/v1/access-keys', headers: { authorization: `Bearer ${token}` } })).statusCode,
    async close() {
      await app.close();
      await ctx.close();
    },
  };
}

describe('the data folder and the database the CLI uses', () => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-cli-folder-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a data folder that does not exist, or holds no database, and creates nothing there', async () => {
    const missing = join(root, 'elsewhere', 'data');
    for (const args of [
      ['keys', 'list'],
      ['keys', 'create', '--name', 'x', '--role', 'global-admin'],
      ['users', 'list'],
    ]) {
      const res = await runCli(args, { TESSERA_DATA_DIR: missing });
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr.trim()).toBe(
        `configuration error: The data folder ${missing} does not exist: run this where the server runs, or point --data-dir (or TESSERA_DATA_DIR) at the server's data folder; \`tessera migrate\` makes a new database.`,
      );
      expect(res.stdout).toBe('');
    }
    expect(existsSync(missing)).toBe(false);
    // --data-dir wins over the variable, after the command name too.
    const flag = await runCli(['keys', 'list', '--data-dir', missing], { TESSERA_DATA_DIR: root });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain(`The data folder ${missing} does not exist`);

    const empty = join(root, 'empty');
    mkdirSync(empty);
    const noDatabase = await runCli(['keys', 'list'], { TESSERA_DATA_DIR: empty });
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toContain(`The data folder ${empty} holds no database`);
    expect(existsSync(join(empty, 'tessera.db'))).toBe(false);
  });

  it('migrate makes the database; every command then says which one it used, on stderr only', async () => {
    const dataDir = join(root, 'made');
    const migrate = await runCli(['--data-dir', dataDir, 'migrate'], {});
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.using).toBe(`SQLite database ${join(dataDir, 'tessera.db')}`);
    const created = await runCli(['keys', 'create', '--name', 'here', '--role', 'global-admin', '--json', '--data-dir', dataDir], {});
    expect(created.code, created.stderr).toBe(0);
    expect(created.using).toBe(`SQLite database ${join(dataDir, 'tessera.db')}`);
    expect(JSON.parse(created.stdout).name).toBe('here');
    const listed = await runCli(['keys', 'list', '--json'], { TESSERA_DATA_DIR: dataDir });
    expect(listed.using).toBe(`SQLite database ${join(dataDir, 'tessera.db')}`);
    expect(JSON.parse(listed.stdout).map((k: { name: string }) => k.name)).toEqual(['here']);
  });

  it.runIf(DIALECTS.includes('postgres'))('names the PostgreSQL server and database, never its credentials', async () => {
    const h = await createHarness('postgres');
    try {
      const url = new URL(h.env['DATABASE_URL']!);
      url.username = 'postgres';
      url.password = 'hunter2-secret';
      const res = await runCli(['keys', 'list'], { ...h.env, DATABASE_URL: url.toString(), TESSERA_DATA_DIR: join(root, 'not-needed') });
      expect(res.using).toBe(`PostgreSQL database ${url.host}${url.pathname}`);
      expect(res.stderr + res.stdout + (res.using ?? '')).not.toContain('hunter2');
    } finally {
      await h.close();
    }
  });
});

describe('the token issuer is kept in the database', () => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-cli-issuer-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a key the CLI mints works on a server with another PORT, whichever opened the database first', async () => {
    // The server first, on PORT 18602; the CLI sees no PORT.
    const serverFirst = join(root, 'server-first');
    const server = await serverOn({ TESSERA_DATA_DIR: serverFirst, PORT: '18602' });
    try {
      const cli = await runCli(['keys', 'create', '--name', 'from-cli', '--role', 'global-admin', '--json'], {
        TESSERA_DATA_DIR: serverFirst,
        TESSERA_SECRET: TEST_SECRET,
      });
      expect(cli.code, cli.stderr).toBe(0);
      expect(await server.get(JSON.parse(cli.stdout).token)).toBe(200);
    } finally {
      await server.close();
    }

    // The CLI first (a fresh database), then the server on another PORT.
    const cliFirst = join(root, 'cli-first');
    expect((await runCli(['migrate'], { TESSERA_DATA_DIR: cliFirst, TESSERA_SECRET: TEST_SECRET })).code).toBe(0);
    const minted = await runCli(['keys', 'create', '--name', 'early', '--role', 'global-admin', '--json'], { TESSERA_DATA_DIR: cliFirst, TESSERA_SECRET: TEST_SECRET });
    const later = await serverOn({ TESSERA_DATA_DIR: cliFirst, PORT: '18603' });
    try {
      expect(await later.get(JSON.parse(minted.stdout).token)).toBe(200);
    } finally {
      await later.close();
    }
  });

  it('a database from before the issuer was stored: tokens its server issued keep working after the CLI stores another issuer', async () => {
    const dataDir = join(root, 'upgraded');
    const env = { TESSERA_DATA_DIR: dataDir, TESSERA_SECRET: TEST_SECRET };
    const before = await serverOn({ ...env, PORT: '18604' });
    const issued = await before.ctx.accessKeys.create({ name: 'test', ip: null }, { name: 'pre-upgrade', roles: [{ role: 'global-admin' }] });
    // As before this change: no stored issuer, and the token names the server's own address.
    await before.ctx.storage.db.deleteFrom('settings').where('name', '=', 'token-issuer').execute();
    await before.close();
    expect(JSON.parse(Buffer.from(issued.token.split('.')[1]!, 'base64url').toString()).iss).toBe('http://127.0.0.1:18604');

    // The CLI (PORT 8080 by default) opens it first and stores its own address as the issuer.
    const cli = await runCli(['keys', 'create', '--name', 'post-upgrade', '--role', 'global-admin', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    const after = await serverOn({ ...env, PORT: '18604' });
    try {
      expect(after.ctx.issuer.current).toBe('http://127.0.0.1:8080');
      expect(await after.get(issued.token)).toBe(200);
      expect(await after.get(JSON.parse(cli.stdout).token)).toBe(200);
    } finally {
      await after.close();
    }
  });

  it('a server given a new TESSERA_PUBLIC_URL makes it the issuer; tokens issued before keep working; the CLI keeps the stored one', async () => {
    const dataDir = join(root, 'moved');
    const env = { TESSERA_DATA_DIR: dataDir, TESSERA_SECRET: TEST_SECRET };
    const first = await serverOn({ ...env, TESSERA_PUBLIC_URL: 'https://old.example.com' });
    const before = await first.ctx.accessKeys.create({ name: 'test', ip: null }, { name: 'before-move', roles: [{ role: 'global-admin' }] });
    await first.close();

    const moved = await serverOn({ ...env, TESSERA_PUBLIC_URL: 'https://new.example.com' });
    try {
      expect(moved.ctx.issuer).toEqual({ current: 'https://new.example.com', accepted: ['https://new.example.com', 'https://old.example.com'] });
      expect(await moved.get(before.token)).toBe(200);
      // The CLI, given an outdated TESSERA_PUBLIC_URL, says so and issues what the servers accept.
      const cli = await runCli(['keys', 'create', '--name', 'after-move', '--role', 'global-admin', '--json'], { ...env, TESSERA_PUBLIC_URL: 'https://old.example.com' });
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stderr).toContain("TESSERA_PUBLIC_URL is https://old.example.com, but this database's tokens are issued by https://new.example.com");
      const token = JSON.parse(cli.stdout).token as string;
      expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).iss).toBe('https://new.example.com');
      expect(await moved.get(token)).toBe(200);
    } finally {
      await moved.close();
    }
  });
});

describe.each(DIALECTS)('the CLI as people use it (%s)', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect, { clock: Object.assign(() => new Date(), { set() {}, advance() {} }) });
  });
  afterAll(() => h.close());

  it('--version prints the version; a bare tessera prints help and exits 0; an unknown command is an error', async () => {
    const version = await runCli(['--version'], {});
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
    const bare = await runCli([], {});
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/^Usage: tessera \[options\] \[command\]/);
    for (const command of ['keys', 'users', 'login', 'completion']) expect(bare.stdout).toContain(`  ${command}`);
    const unknown = await runCli(['kyes'], {});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'kyes'");
  });

  it('keys get shows one key; keys list filters by status, role and name, with LAST USED and readable dates', async () => {
    const used = await h.key([{ role: 'global-admin' }], { name: 'lister-used' });
    await h.key([{ role: 'global-viewer' }], { name: 'lister-viewer' });
    const disabled = await h.key([{ role: 'global-viewer' }], { name: 'lister-off' });
    await h.ctx.accessKeys.update({ name: 'test', ip: null }, disabled.id, { disabled: true });
    expect((await h.request(used.token, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(200);
    await h.ctx.usage.flush();

    const get = await runCli(['keys', 'get', 'LISTER-USED'], h.env);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toMatch(/^Name: +lister-used$/m);
    expect(get.stdout).toMatch(/^Roles: +global-admin$/m);
    expect(get.stdout).toMatch(/^Expires: +in 6 months \(\d{4}-\d\d-\d\d\)$/m);
    expect(get.stdout).toMatch(/^Last used: +(just now|\d+ minutes? ago) \(\d{4}-\d\d-\d\d\)/m);
    expect(get.stdout).not.toMatch(JWT);
    const getJson = JSON.parse((await runCli(['keys', 'get', 'lister-used', '--json'], h.env)).stdout);
    expect(getJson).toMatchObject({ id: used.id, name: 'lister-used' });
    expect(getJson.lastUsedAt).not.toBeNull();
    const missing = await runCli(['keys', 'get', 'nobody'], h.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('was not found');

    const table = await runCli(['keys', 'list', '--name', 'lister'], h.env);
    expect(table.stdout).toMatch(/^NAME\s+ROLES\s+CREATED\s+EXPIRES\s+LAST USED\s+STATUS$/m);
    expect(table.stdout).toMatch(/^lister-used\s+global-admin\s+just now \(\d{4}-\d\d-\d\d\)\s+in 6 months \(\d{4}-\d\d-\d\d\)\s+(just now|\d+ minutes? ago)/m);
    expect(table.stdout).toMatch(/^lister-viewer\s.*\snever\s+active$/m);
    const names = async (...args: string[]) =>
      JSON.parse((await runCli(['keys', 'list', '--name', 'lister', '--json', ...args], h.env)).stdout)
        .map((k: { name: string }) => k.name)
        .sort();
    expect(await names()).toEqual(['lister-off', 'lister-used', 'lister-viewer']);
    expect(await names('--role', 'global-viewer')).toEqual(['lister-off', 'lister-viewer']);
    expect(await names('--status', 'disabled')).toEqual(['lister-off']);
    expect(await names('--status', 'active')).toEqual(['lister-used', 'lister-viewer']);
    expect(await names('--status', 'expired')).toEqual([]);
    const badStatus = await runCli(['keys', 'list', '--status', 'revoked'], h.env);
    expect(badStatus.code).not.toBe(0);
    expect(badStatus.stderr).toContain('Allowed choices are active, expiring, expired, disabled');
  });

  it('keys remove asks on a terminal (no: nothing removed), and goes ahead with --yes or when not on a terminal', async () => {
    const kept = await h.key([{ role: 'global-admin' }], { name: 'asked-about' });
    const onTerminal = (answer: string, ...args: string[]) =>
      spawnSync('script', ['-qec', [process.execPath, BIN, 'keys', 'remove', 'asked-about', ...args].join(' '), '/dev/null'], {
        input: `${answer}\n`,
        env: { PATH: process.env['PATH'], HOME: process.env['HOME'], LOG_LEVEL: 'warn', ...h.env },
        encoding: 'utf8',
      });
    const declined = onTerminal('n');
    expect(declined.stdout).toContain('Remove access key "asked-about"? Its token stops working at once; this cannot be undone. [y/N]');
    expect(declined.stdout).toContain('Nothing removed.');
    expect((await h.request(kept.token, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(200);
    const confirmed = onTerminal('y');
    expect(confirmed.stdout).toContain('Removed access key "asked-about".');
    expect((await h.request(kept.token, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(401);

    await h.key([{ role: 'global-admin' }], { name: 'asked-about' });
    const withYes = onTerminal('', '--yes');
    expect(withYes.stdout).not.toContain('[y/N]');
    expect(withYes.stdout).toContain('Removed access key "asked-about".');
  });

  it('users list, reset-password (a new password that signs in, or a new link for a pending user) and remove', async () => {
    const created = await runCli(['users', 'create', '--email', 'Operator@Example.com', '--role', 'global-viewer', '--json'], h.env);
    expect(created.code, created.stderr).toBe(0);
    const firstPassword = JSON.parse(created.stdout).password as string;
    const invited = await h.ctx.users.invite({ name: 'test', ip: null }, { email: 'later@example.com', roles: [{ role: 'global-viewer' }] });

    const list = await runCli(['users', 'list'], h.env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^EMAIL\s+NAME\s+ROLES\s+STATUS\s+LAST SIGN-IN$/m);
    expect(list.stdout).toMatch(/^operator@example\.com\s+Operator\s+global-viewer\s+active\s+never$/im);
    expect(list.stdout).toMatch(/^later@example\.com\s.*\spending\s+never$/m);
    expect(JSON.parse((await runCli(['users', 'list', '--json'], h.env)).stdout).map((u: { email: string }) => u.email.toLowerCase())).toContain('later@example.com');

    const signIn = (password: string) =>
      h.app.inject({ method: 'POST', url: '/api/v1/token', payload: { grant_type: 'password', username: 'operator@example.com', password } });
    expect((await signIn(firstPassword)).statusCode).toBe(200);
    const reset = await runCli(['users', 'reset-password', 'OPERATOR@example.com'], h.env);
    expect(reset.code, reset.stderr).toBe(0);
    const newPassword = /Password \(shown once\): (\S+)/.exec(reset.stdout)?.[1] as string;
    expect(newPassword).toBeDefined();
    expect((await signIn(firstPassword)).statusCode).toBe(400);
    expect((await signIn(newPassword)).statusCode).toBe(200);

    const relink = JSON.parse((await runCli(['users', 'reset-password', 'later@example.com', '--json'], h.env)).stdout);
    expect(relink.invitationUrl).toMatch(/\/invite\//);
    expect(relink.invitationUrl).not.toBe(invited.invitationUrl);

    const removed = await runCli(['users', 'remove', 'operator@example.com'], h.env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout.trim()).toBe('Removed user Operator@Example.com.');
    expect((await signIn(newPassword)).statusCode).toBe(400);
    const gone = await runCli(['users', 'remove', 'operator@example.com', '--yes'], h.env);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe('error: No user has the email operator@example.com.');
  });

  it('completion prints a bash script that completes commands and options', async () => {
    const script = await runCli(['completion', 'bash'], {});
    expect(script.code).toBe(0);
    const complete = (...words: string[]) =>
      spawnSync(
        'bash',
        ['-c', `${script.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tessera_complete; echo "\${COMPREPLY[*]}"`],
        {
          encoding: 'utf8',
        },
      ).stdout.trim();
    expect(complete('tessera', 'ke')).toBe('keys');
    expect(complete('tessera', 'keys', '')).toContain('create list get edit roll disable enable remove');
    expect(complete('tessera', 'keys', 'list', '--st')).toBe('--status');
    expect(complete('tessera', 'keys', 'create', '--name', 'ci', '--ro')).toBe('--role');
    expect(complete('tessera', 'users', 're')).toBe('remove reset-password');
    const zsh = await runCli(['completion', 'zsh'], {});
    expect(zsh.stdout).toContain('bashcompinit');
    expect((await runCli(['completion', 'fish'], {})).code).not.toBe(0);
  });
});

describe.each(DIALECTS)('remote mode: keys and users through the HTTP API (%s)', (dialect) => {
  let h: Harness;
  let url: string;
  let adminToken: string;
  /** No data folder and no database settings: everything goes through the API. */
  let remote: Record<string, string>;
  const home = mkdtempSync(join(tmpdir(), 'tessera-cli-home-'));
  beforeAll(async () => {
    h = await createHarness(dialect, { clock: Object.assign(() => new Date(), { set() {}, advance() {} }) });
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    adminToken = (await h.key([{ role: 'global-admin' }], { name: 'operator' })).token;
    remote = { TESSERA_URL: url, TESSERA_TOKEN: adminToken, TESSERA_DATA_DIR: join(home, 'no-such-folder'), XDG_CONFIG_HOME: join(home, 'config') };
  });
  afterAll(async () => {
    await h.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('keys create, list, get, edit, roll, disable and remove go through the server', async () => {
    const created = await runCli(
      ['keys', 'create', '--name', 'remote-bot', '--role', 'global-viewer', '--days', '9', '--description', 'made remotely', '--json'],
      remote,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.using).toBe(`server ${url}`);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({ name: 'remote-bot', description: 'made remotely', createdBy: 'key:operator', roles: [{ role: 'global-viewer' }] });
    expect((await h.request(key.token, { method: 'GET', url: '/api/v1/reports/summary' })).statusCode).toBe(200);

    const list = await runCli(['keys', 'list', '--role', 'global-viewer'], remote);
    expect(list.stdout).toMatch(/^remote-bot\s+global-viewer\s/m);
    expect(list.stdout).not.toMatch(/^operator\s/m);
    expect(JSON.parse((await runCli(['keys', 'get', 'REMOTE-BOT', '--json'], remote)).stdout).id).toBe(key.id);

    const edited = await runCli(['keys', 'edit', 'remote-bot', '--role', 'global-admin'], remote);
    expect(edited.stdout.trim()).toBe('Access key "remote-bot" now has: global-admin; usable from any address, no rate limit.');
    const undescribed = JSON.parse((await runCli(['keys', 'edit', 'remote-bot', '--description', '', '--json'], remote)).stdout);
    expect(undescribed).toMatchObject({ description: null, roles: [{ role: 'global-admin' }] });
    const rolled = await runCli(['keys', 'roll', 'remote-bot', '--grace', '0'], remote);
    expect(rolled.code, rolled.stderr).toBe(0);
    const newToken = JSON.stringify(JWT.exec(rolled.stdout)?.[0]);
    expect((await h.request(key.token, { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(401);
    expect((await h.request(JSON.parse(newToken), { method: 'GET', url: '/api/v1/access-keys' })).statusCode).toBe(200);
    expect((await runCli(['keys', 'disable', 'remote-bot'], remote)).stdout.trim()).toBe('Access key "remote-bot" is disabled.');
    expect((await runCli(['keys', 'list', '--status', 'disabled', '--json'], remote)).stdout).toContain('remote-bot');
    const removed = await runCli(['keys', 'remove', 'remote-bot'], remote);
    expect(removed.stdout.trim()).toBe('Removed access key "remote-bot".');
    const audit = await h.ctx.audit.list({ limit: 5 });
    expect(audit.items[0]).toMatchObject({ actor: 'key:operator', action: 'delete', resource: 'remote-bot' });

    // Server-side refusals come back as one line.
    const dup = await runCli(['keys', 'create', '--name', 'operator', '--role', 'global-admin'], remote);
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim()).toBe('error: An access key named "operator" already exists.');
    const badKey = await runCli(['keys', 'list'], { ...remote, TESSERA_TOKEN: 'not-a-key' });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr.trim()).toMatch(new RegExp(`^error: .*\\(the server refused the key given for ${url.replace(/[.:/]/g, '\\$&')}\\)$`));
    const noKey = await runCli(['keys', 'list'], { ...remote, TESSERA_TOKEN: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain(`No key for ${url}: set TESSERA_TOKEN`);
    const down = await runCli(['--url', 'http://127.0.0.1:9', 'keys', 'list'], remote);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach http://127.0.0.1:9');
  });

  it('users create (an invitation link), list, reset-password and remove go through the server', async () => {
    const created = await runCli(['users', 'create', '--email', 'remote@example.com', '--role', 'global-viewer', '--json'], remote);
    expect(created.code, created.stderr).toBe(0);
    const user = JSON.parse(created.stdout);
    expect(user).toMatchObject({ email: 'remote@example.com', status: 'pending' });
    expect(user.invitationUrl).toMatch(/\/invite\//);
    const withPassword = await runCli(['users', 'create', '--email', 'x@example.com', '--role', 'global-viewer', '--password-stdin'], remote, 'a long enough password\n');
    expect(withPassword.code).toBe(1);
    expect(withPassword.stderr).toContain('a password cannot be set through the API');

    expect((await runCli(['users', 'list'], remote)).stdout).toMatch(/^remote@example\.com\s.*\spending\s+never$/m);
    const relink = JSON.parse((await runCli(['users', 'reset-password', 'remote@example.com', '--json'], remote)).stdout);
    expect(relink.invitationUrl).not.toBe(user.invitationUrl);

    const active = await h.ctx.users.createActive({ name: 'test', ip: null }, { email: 'active@example.com', roles: [{ role: 'global-viewer' }] });
    const reset = JSON.parse((await runCli(['users', 'reset-password', 'active@example.com', '--json'], remote)).stdout);
    expect(reset.password).not.toBe(active.generatedPassword);
    const signIn = (password: string) =>
      h.app.inject({ method: 'POST', url: '/api/v1/token', payload: { grant_type: 'password', username: 'active@example.com', password } });
    expect((await signIn(reset.password)).statusCode).toBe(200);
    expect((await signIn(active.generatedPassword!)).statusCode).toBe(400);

    expect((await runCli(['users', 'remove', 'remote@example.com'], remote)).stdout.trim()).toBe('Removed user remote@example.com.');
    expect((await runCli(['users', 'list', '--json'], remote)).stdout).not.toContain('remote@example.com');
  });

  it('login checks the key and stores it (mode 0600) in the config folder; commands then need neither variable', async () => {
    const config = { XDG_CONFIG_HOME: join(home, 'login-config'), HOME: home, TESSERA_DATA_DIR: join(home, 'no-such-folder') };
    const refused = await runCli(['login', '--url', url, '--token-stdin'], config, 'not-a-key\n');
    expect(refused.code).toBe(1);
    expect(existsSync(join(home, 'login-config', 'tessera', 'login.json'))).toBe(false);

    const login = await runCli(['login', '--url', `${url}/`, '--token-stdin'], config, `${adminToken}\n`);
    expect(login.code, login.stderr).toBe(0);
    const file = join(home, 'login-config', 'tessera', 'login.json');
    expect(login.stdout).toContain(file);
    expect(login.stdout).not.toContain(adminToken);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'login-config', 'tessera')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url, token: adminToken });

    const list = await runCli(['keys', 'list', '--json'], config);
    expect(list.code, list.stderr).toBe(0);
    expect(list.using).toBe(`server ${url}`);
    expect(JSON.parse(list.stdout).map((k: { name: string }) => k.name)).toContain('operator');

    // --data-dir asks for a database: the stored login is not used (and this folder has none).
    const local = await runCli(['keys', 'list', '--data-dir', join(home, 'no-such-folder')], config);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('does not exist');

    expect((await runCli(['logout'], config)).stdout.trim()).toBe('Logged out: the stored key is deleted.');
    expect(existsSync(file)).toBe(false);
    expect((await runCli(['keys', 'list'], config)).code).toBe(2);
    expect((await runCli(['logout'], config)).stdout.trim()).toBe('Not logged in.');
  });
});
