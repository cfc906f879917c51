import { readFileSync, statSync, utimesSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';

const BUNDLE = fileURLToPath(new URL('../build/tessera.mjs', import.meta.url));

describe('bin/tessera.js', () => {
  it('runs the bundle of src/, made again when a source is newer than it and not otherwise', async () => {
    const help = async () => {
      const result = await runCli(['--help'], {});
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('serve');
    };
    await help();
    const current = statSync(BUNDLE).mtimeMs;
    await help();
    expect(statSync(BUNDLE).mtimeMs, 'a current bundle is not made again').toBe(current);
    // Older than every source: as after an edit (or a checkout) of src/.
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(BUNDLE, past, past);
    await help();
    expect(statSync(BUNDLE).mtimeMs, 'a stale bundle is made again').toBeGreaterThan(past.getTime() + 1000);
  });

  it('bundles the packages too, but for those that must load from node_modules', () => {
    const bundle = readFileSync(BUNDLE, 'utf8');
    for (const bundled of ['kysely', 'fastify', 'typebox', 'jose']) expect(bundle, bundled).not.toMatch(new RegExp(`from "${bundled}"`));
    for (const external of ['better-sqlite3', 'pg', 'pino']) expect(bundle, external).toMatch(new RegExp(`from "${external}"`));
  });
});
