import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { runCli } from './helpers/cli.ts';
import { createHarness, TEST_SECRET, type Harness } from './helpers/harness.ts';

describe.each(DIALECTS)('npx tessera demo (%s)', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(() => h.close());

  const counts = async () => {
    const db = h.ctx.storage.db;
    const n = async (table: 'cloud_accounts' | 'credentials' | 'assets' | 'asset_cves' | 'policy_rules') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      accounts: await n('cloud_accounts'),
      credentials: await n('credentials'),
      assets: await n('assets'),
      cves: await n('asset_cves'),
      rules: await n('policy_rules'),
    };
  };

  it('seeds a living console, and a second run changes nothing', async () => {
    const first = await runCli(['demo', '--json'], h.env);
    expect(first.code, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ cloudAccounts: { created: 6, existing: 0 }, credentials: { created: 3, existing: 0 }, policy: 'seeded' });
    const after = await counts();
    expect(after).toEqual({ accounts: 6, credentials: 3, assets: result.assets, cves: result.cveFindings, rules: 8 });
    expect(after.assets).toBeGreaterThanOrEqual(300);
    expect(after.cves).toBeGreaterThanOrEqual(50);
    const assetIds = (await h.ctx.storage.db.selectFrom('assets').select('id').orderBy('id').execute()).map((r) => r.id);

    const second = await runCli(['demo'], h.env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Demo data ready: 6 cloud accounts (0 new)');
    expect(second.stdout).toContain('npx tessera keys create --name demo --role global-admin --json');
    expect(await counts()).toEqual(after);
    expect((await h.ctx.storage.db.selectFrom('assets').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(assetIds);
  });

  it('is what the API shows, on every vendor, with secrets write-only and scopes applied', async () => {
    const admin = await h.key([{ role: 'global-admin' }]);
    const summary = (await h.request(admin.token, { method: 'GET', url: '/api/v1/reports/summary' })).json();
    expect(summary.cloudAccounts).toMatchObject({ total: 6, byVendor: { aws: 2, azure: 2, gcp: 2 }, byStatus: { connected: 4, 'connected-with-warnings': 1, error: 1 } });
    for (const vendor of ['aws', 'azure', 'gcp']) expect(summary.assets.byVendor[vendor]).toBeGreaterThan(50);
    expect(summary.assets.byExposure['internet-exposed']).toBeGreaterThan(10);
    for (const severity of ['critical', 'high', 'medium', 'low']) expect(summary.cves.bySeverity[severity]).toBeGreaterThan(0);

    const credentials = await h.request(admin.token, { method: 'GET', url: '/api/v1/credentials' });
    expect(
      credentials
        .json()
        .items.map((c: { id: string }) => c.id)
        .sort(),
    ).toEqual(['demo-cred-aws', 'demo-cred-azure', 'demo-cred-gcp']);
    expect(credentials.body).not.toContain('EXAMPLEKEY');

    const policy = (await h.request(admin.token, { method: 'GET', url: '/api/v1/policy/rules' })).json();
    expect(policy.rules[0].id).toBe('deny-ssh-internet');

    const viewer = await h.key([{ role: 'cloud-account-viewer', accounts: ['demo-aws-production'] }]);
    const assets = (await h.request(viewer.token, { method: 'GET', url: '/api/v1/assets?limit=200' })).json();
    expect(assets.items.length).toBe(95);
    expect(new Set(assets.items.map((a: { accountId: string }) => a.accountId))).toEqual(new Set(['demo-aws-production']));
    const exposed = (await h.request(admin.token, { method: 'GET', url: '/api/v1/assets?exposure=internet-exposed&type=virtual-machine&limit=1' })).json().items[0];
    const network = (await h.request(admin.token, { method: 'GET', url: `/api/v1/assets/${exposed.id}/network` })).json();
    expect(network.publicIps.length).toBeGreaterThan(0);
  });

  it('keeps a policy someone already wrote', async () => {
    await h.ctx.policy.replace({ name: 'test', ip: null }, [{ name: 'Mine', action: 'deny', protocol: 'any', source: 'any', destination: 'any', ports: ['any'] }]);
    const run = await runCli(['demo', '--json'], h.env);
    expect(JSON.parse(run.stdout).policy).toBe('kept');
    expect((await h.ctx.policy.get()).rules.map((r) => r.name)).toEqual(['Mine']);
  });
});

/**
 * The README's "Calling the API" section, run as printed against a fresh server (`npm start`'s
 * command) after `npx tessera demo`: only the port differs, so it cannot collide with a server
 * already running here.
 */
describe("the README's curl examples", () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-readme-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env = {
    PATH: `${join(root, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`,
    HOME: process.env['HOME'] ?? '/tmp',
    TESSERA_DATA_DIR: dataDir,
    TESSERA_SECRET: TEST_SECRET,
    PORT: String(port),
    LOG_LEVEL: 'warn',
  };
  let server: ReturnType<typeof spawn> | undefined;

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('work exactly as printed', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Calling the API'));
    const end = section.indexOf('\n## ', 5);
    const blocks = [...(end === -1 ? section : section.slice(0, end)).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(blocks[0]).toBe('npm start');
    const script = ['set -euo pipefail', ...blocks.slice(1)].join('\n').replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    expect(script).toContain('npx tessera demo');

    server = spawn(process.execPath, [join(root, 'bin/tessera.js'), 'serve'], { cwd: root, env, stdio: 'ignore' });
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    }
    expect(up).toBe(true);

    const run = spawnSync('bash', ['-c', script], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    // Every call answered as the README says: no problem bodies but the last (the removed key).
    expect(out.match(/"code":"[a-z_]+"/g)).toEqual(['"code":"invalid_token"']);
    // The status codes printed by `-w '%{http_code}\n'` (JSON bodies end without a newline).
    expect(out.match(/\d{3}(?=\n)/g)).toEqual(['204', '204', '404', '403', '200']);
    expect(out).toContain('"active":true');
    expect(out).toContain('HTTP/1.1 401');
    expect(out).toContain('www-authenticate: Bearer error="invalid_token"');
    expect(out).toContain('"cloudAccounts":{"total":1');
  }, 180_000);
});
