import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE = join(ROOT, 'build', 'tessera.mjs');

describe('bin/tessera.js', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  /** An install folder holding the real entry point, sources as given, and a stand-in bundle that says it ran. */
  function install(options: { bundle: boolean }): { root: string; run(): { status: number | null; stdout: string; stderr: string } } {
    const root = mkdtempSync(join(tmpdir(), 'tessera-entry-'));
    folders.push(root);
    mkdirSync(join(root, 'bin'));
    copyFileSync(join(ROOT, 'bin', 'tessera.js'), join(root, 'bin', 'tessera.js'));
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'main.ts'), '');
    if (options.bundle) {
      mkdirSync(join(root, 'build'));
      writeFileSync(join(root, 'build', 'tessera.mjs'), "console.log('bundle ran');\n");
    }
    return {
      root,
      run: () => spawnSync(process.execPath, [join(root, 'bin', 'tessera.js'), '--help'], { encoding: 'utf8' }),
    };
  }

  it('runs the built bundle and writes nothing, however old the bundle', async () => {
    const before = statSync(BUNDLE).mtimeMs;
    const result = await runCli(['--help'], {});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('serve');
    expect(statSync(BUNDLE).mtimeMs, 'the bundle is not made again').toBe(before);

    const { root, run } = install({ bundle: true });
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(join(root, 'build', 'tessera.mjs'), past, past);
    const stale = run();
    expect(stale.status, stale.stderr).toBe(0);
    expect(stale.stdout).toBe('bundle ran\n');
    // Said, so that a developer does not take the old code for the new.
    expect(stale.stderr).toMatch(/changed since build\/ was made.*npm run build/);
    expect(statSync(join(root, 'build', 'tessera.mjs')).mtimeMs).toBeCloseTo(past.getTime(), 0);
  });

  it('says nothing when the bundle is newer than the sources', () => {
    const { root, run } = install({ bundle: true });
    const past = new Date(Date.now() - 3_600_000);
    for (const path of ['src/main.ts', 'src', 'package.json']) utimesSync(join(root, path), past, past);
    const result = run();
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('bundle ran\n');
    expect(result.stderr).toBe('');
  });

  it('without a build, says how to make one and exits 2', () => {
    const { run } = install({ bundle: false });
    const result = run();
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/build\/tessera\.mjs is missing: run `npm run build`/);
  });

  it('runs a bundle of the packages too, but for those that must load from node_modules, and the WAL worker beside it', () => {
    const bundle = readFileSync(BUNDLE, 'utf8');
    for (const bundled of ['kysely', 'fastify', 'typebox', 'jose']) expect(bundle, bundled).not.toMatch(new RegExp(`from "${bundled}"`));
    for (const external of ['better-sqlite3', 'pg', 'pino']) expect(bundle, external).toMatch(new RegExp(`from "${external}"`));
    // Nothing in the bundle builds: its build tool is a development dependency only.
    expect(bundle).not.toMatch(/from "esbuild"|import\("esbuild"\)/);
    const worker = readFileSync(join(ROOT, 'build', 'wal-checkpoint-worker.mjs'), 'utf8');
    expect(worker).toMatch(/from "better-sqlite3"/);
    expect(worker).toContain('wal_checkpoint(PASSIVE)');
  });
});
