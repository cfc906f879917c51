import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url));
const PRODUCTS = ['build/tessera.mjs', 'build/wal-checkpoint-worker.mjs', 'web/dist/index.html'];

/**
 * scripts/build.mjs where its tools are not installed, as after `npm ci --omit=dev`: a folder
 * with the script and no node_modules (the server's real build runs before every suite, in
 * test/global-setup.ts, and at install in test/install/).
 */
describe('scripts/build.mjs without esbuild and Vite', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  function installWithoutTools(options: { built: boolean }): string {
    const root = mkdtempSync(join(tmpdir(), 'tessera-build-'));
    folders.push(root);
    mkdirSync(join(root, 'scripts'));
    copyFileSync(SCRIPT, join(root, 'scripts', 'build.mjs'));
    if (options.built) {
      for (const product of PRODUCTS) {
        mkdirSync(join(root, product, '..'), { recursive: true });
        writeFileSync(join(root, product), `made elsewhere: ${product}`);
      }
    }
    return root;
  }

  const build = (root: string, args: string[] = [], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), ...args], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } });

  it('keeps a complete build that is there', () => {
    const root = installWithoutTools({ built: true });
    const result = build(root, ['--prepare'], { npm_command: 'ci' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/esbuild and vite .*not installed.*keeping the build/);
    for (const product of PRODUCTS) expect(readFileSync(join(root, product), 'utf8')).toBe(`made elsewhere: ${product}`);
  });

  it('refuses without one, saying how to install', () => {
    const root = installWithoutTools({ built: false });
    const result = build(root, ['--prepare'], { npm_command: 'ci' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Cannot build Tessera: esbuild and vite (development dependencies) not installed');
    expect(result.stderr).toContain('`npm ci` (which builds), then `npm prune --omit=dev`');
    expect(existsSync(join(root, 'build'))).toBe(false);
  });

  it('builds nothing as the prepare step of `npx tessera`, which links the installed folder', () => {
    const root = installWithoutTools({ built: false });
    const result = build(root, ['--prepare'], { npm_command: 'exec' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toBe('');
  });
});
