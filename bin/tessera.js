#!/usr/bin/env node
// Runs Tessera from one ES module bundled by esbuild from src/ and the packages it imports.
// Loading the TypeScript sources through a transpiling loader cost about a second at every
// start, and resolving and reading the hundreds of files of kysely, typebox, fastify and ajv
// one by one most of another (2.0-2.8 s to the first /healthz at a million keys on a slow
// machine, 1.2-1.3 s bundled); the bundle is made on the first run and again whenever one of
// its inputs is newer than it.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// One folder below the root, as src/ is, so that paths the sources resolve from their own
// location (`../web/dist/`) mean the same in the bundle.
const bundle = join(root, 'build', 'tessera.mjs');

function newestSource(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
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

// What the bundle is made from: the sources, the packages (as the manifest and lock file name
// them) and how it is made (this file).
const inputs = [join(root, 'src'), join(root, 'package.json'), join(root, 'package-lock.json'), fileURLToPath(import.meta.url)];
if (bundleTime() < Math.max(...inputs.map(newestSource))) {
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
      // Left in node_modules: native code (better-sqlite3, esbuild), pg's optional native
      // binding, and packages that load their own files by path (static assets, pino's
      // transport workers).
      external: ['better-sqlite3', 'esbuild', 'pg', '@fastify/static', '@fastify/swagger-ui', 'pino'],
      // Bundled CommonJS packages call require(): give the module one.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
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
