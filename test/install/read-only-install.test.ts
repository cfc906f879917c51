/**
 * A fresh clone, installed with the README's first command, then made read-only: it starts and
 * serves, and neither the server nor the CLI writes into the install folder. Slow (a real `npm
 * ci`: packages from npm's cache, better-sqlite3's native build, both builds of Tessera), so it
 * runs on its own after the other suites: `npm run test:install`.
 *
 * The clone is of the commit checked out (HEAD): what a fresh clone gets, not the working tree.
 * The installing user creates a key with `npx tessera` as the README does; then the folder loses
 * its write permission and, as root, the server and the CLI run as `nobody` (root ignores file
 * modes); otherwise as the current user.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { call, sparePort } from '../helpers/instances.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_EMAIL = 'admin@read-only.test';
const ADMIN_PASSWORD = 'read-only-admin-password';
const NOBODY = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;

/** The README's first command (Quick start): install, then start. */
function readmeFirstCommand(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  if (block === null) throw new Error('README.md has no sh block');
  return block[1]!.trim();
}

/** Every file and folder under `dir` with its size and modification time: what a write would change. */
function snapshot(dir: string, into = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) continue;
    into.set(path, `${stat.size}:${stat.mtimeMs}`);
    if (entry.isDirectory()) snapshot(path, into);
  }
  into.set(dir, `dir:${statSync(dir).mtimeMs}`);
  return into;
}

/**
 * The environment without what the npm running this suite passes its scripts (npm_config_local_prefix
 * would point the clone's npm at this folder) and without Tessera's own variables. A user's
 * NPM_CONFIG_* settings (a registry mirror) stay.
 */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|INIT_CWD$|TESSERA_|DATABASE_URL$|REDIS_URL$|PORT$|HOST$)/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Spawn options that run a child as the serving user (libuv drops root's supplementary groups too). */
const servingUser = asRoot ? { uid: NOBODY.uid, gid: NOBODY.gid } : {};

describe('a fresh clone, installed with the README’s first command, then made read-only', () => {
  let work: string | undefined;
  let server: ChildProcess | undefined;

  // Removing a whole install (node_modules included) takes a while on a busy machine.
  afterAll(async () => {
    if (server?.pid !== undefined && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((done) => server?.once('close', done));
      process.kill(-server.pid, 'SIGTERM');
      await exited;
    }
    if (work === undefined) return;
    execFileSync('chmod', ['-R', 'u+w', work]);
    rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('starts, serves the API and the console, and runs the CLI, writing nothing into it', async () => {
    const [install, start] = readmeFirstCommand().split(' && ');
    expect(install).toBe('npm ci');
    expect(start).toBe('npm start');

    work = mkdtempSync(join(tmpdir(), 'tessera-install-'));
    const clone = join(work, 'tessera');
    // A checkout owned by another user (as in some CI runners) is still ours to read.
    const git = (args: string[], cwd = ROOT) => execFileSync('git', ['-c', 'safe.directory=*', ...args], { cwd, encoding: 'utf8' }).trim();
    const head = git(['rev-parse', 'HEAD']);
    git(['clone', '--quiet', '--no-checkout', ROOT, clone]);
    git(['checkout', '--quiet', head], clone);
    expect(existsSync(join(clone, 'build')), 'a clone has no build').toBe(false);
    expect(existsSync(join(clone, 'web', 'dist'))).toBe(false);

    // Exactly the README's command; only npm's network habits are set, through its environment.
    const installed = spawnSync('sh', ['-c', install!], {
      cwd: clone,
      encoding: 'utf8',
      env: cleanEnv({ npm_config_audit: 'false', npm_config_fund: 'false', npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' }),
    });
    expect(installed.status, `${installed.stdout}\n${installed.stderr}`.slice(-4000)).toBe(0);
    // Every package supports the Node versions package.json declares (20.19+, 22.13+, 24): no
    // EBADENGINE warning (regression: cookie 2 and content-disposition 3 want Node 22).
    expect(installed.stderr).not.toContain('EBADENGINE');
    // The install built the server, its worker and the console.
    for (const built of ['build/tessera.mjs', 'build/wal-checkpoint-worker.mjs', 'web/dist/index.html']) expect(existsSync(join(clone, built)), built).toBe(true);
    const installedState = snapshot(clone);

    // Outside the install folder: the data folder, and a home for npm's cache and logs.
    chmodSync(work, 0o755);
    const writable = join(work, 'writable');
    const dataDir = join(writable, 'data');
    for (const dir of [writable, dataDir, join(writable, 'home')]) mkdirSync(dir, { mode: 0o700 });
    const port = await sparePort();
    const url = `http://127.0.0.1:${port}`;
    const env = cleanEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      TESSERA_PUBLIC_URL: url,
      HOME: join(writable, 'home'),
      npm_config_cache: join(writable, 'home', '.npm'),
      npm_config_update_notifier: 'false',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_ADMIN_EMAIL: ADMIN_EMAIL,
      TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'warn',
    });

    // The README's way to a key, by whoever installed (npx links the folder into its cache,
    // which must not rebuild it). The data folder is new and empty: the CLI refuses it until
    // `migrate` (or the server) has made the database there.
    const refused = spawnSync('npx', ['tessera', 'keys', 'list'], { cwd: clone, env, encoding: 'utf8' });
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`The data folder ${dataDir} holds no database`);
    const migrated = spawnSync('npx', ['tessera', 'migrate'], { cwd: clone, env, encoding: 'utf8' });
    expect(migrated.status, migrated.stderr).toBe(0);
    const readmeKey = spawnSync('npx', ['tessera', 'keys', 'create', '--name', 'readme-key', '--role', 'global-admin', '--json'], { cwd: clone, env, encoding: 'utf8' });
    expect(readmeKey.status, readmeKey.stderr).toBe(0);
    const { token } = JSON.parse(readmeKey.stdout) as { token: string };

    // Read-only from here on, and served by a user who owns nothing of it.
    execFileSync('chmod', ['-R', 'a-w', clone]);
    if (asRoot) execFileSync('chown', ['-R', `${NOBODY.uid}:${NOBODY.gid}`, writable]);
    const [program, ...args] = start!.split(' ');
    server = spawn(program!, args, { ...servingUser, cwd: clone, env: { ...env, LOG_LEVEL: 'info' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exit = new Promise<number | null>((done) => server?.once('close', (code) => done(code)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`npm start exited with ${server.exitCode}:\n${output}`);
      const health = await call(url, 'GET', '/healthz').catch(() => undefined);
      if (health?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`no /healthz within 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    expect((await call(url, 'GET', '/api/v1/access-keys')).status).toBe(401);
    const names = async () => {
      const keys = await call(url, 'GET', '/api/v1/access-keys', token);
      expect(keys.status, keys.body).toBe(200);
      return keys.json<{ items: { name: string }[] }>().items.map((key) => key.name);
    };
    expect(await names()).toContain('readme-key');
    // The CLI from the read-only folder, as the serving user; the running server sees its change.
    const created = spawnSync(process.execPath, ['bin/tessera.js', 'keys', 'create', '--name', 'read-only-key', '--role', 'global-viewer', '--json'], {
      ...servingUser,
      cwd: clone,
      env,
      encoding: 'utf8',
    });
    expect(created.status, created.stderr).toBe(0);
    expect(await names()).toContain('read-only-key');
    // The console that the install built.
    const page = await call(url, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="root">');

    process.kill(-(server.pid as number), 'SIGTERM');
    expect(await exit, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/Tessera stopped/);
    // The checkpoint worker loaded from the build and never failed; no write was refused; the
    // build was current.
    expect(output).not.toMatch(/checkpoint worker failed|background WAL checkpoint failed|EACCES|EROFS|npm run build/);

    const now = snapshot(clone);
    const changed = [...new Set([...installedState.keys(), ...now.keys()])].filter((path) => installedState.get(path) !== now.get(path));
    expect(changed, 'nothing in the install folder was created, changed or removed after the install').toEqual([]);
  });
});
