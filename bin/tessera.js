#!/usr/bin/env node
// Runs Tessera from one ES module bundled from src/ by esbuild (packages stay in node_modules).
// Loading the TypeScript sources through a transpiling loader cost about a second at every
// start; the bundle is made on the first run and again whenever a source is newer than it.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// One folder below the root, as src/ is, so that paths the sources resolve from their own
// location (`../web/dist/`) mean the same in the bundle.
const bundle = join(root, 'build', 'tessera.mjs');

function newestSource(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestSource(join(path, entry)));
  return newest;
}

function bundleTime() {
  try {
    return statSync(bundle).mtimeMs;
  } catch {
    return -1;
  }
}

if (bundleTime() < Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'package.json')))) {
  const { build } = await import('esbuild');
  // Written aside and renamed: processes starting at the same moment never load half a file.
  const partial = `${bundle}.${process.pid}.partial`;
  mkdirSync(join(root, 'build'), { recursive: true });
  try {
    await build({
      entryPoints: [join(root, 'src', 'main.ts')],
      outfile: partial,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'warning',
    });
    renameSync(partial, bundle);
  } finally {
    rmSync(partial, { force: true });
  }
}
// Stack traces in logs name the TypeScript file and line, not the bundle's.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundle).href);
