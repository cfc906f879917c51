#!/usr/bin/env node
// Runs Tessera from the bundle that the install made (`npm ci` runs `npm run build`:
// scripts/build.mjs). It only reads the install folder, which may be read-only.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'build', 'tessera.mjs');

if (!existsSync(bundle)) {
  console.error(`tessera: ${bundle} is missing: run \`npm run build\` in ${root} (\`npm ci\` runs it).`);
  process.exit(2);
}

function newestChange(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestChange(join(path, entry)));
  return newest;
}

// In a working copy the sources change after the build: say so rather than run old code
// silently. Building here instead would write into the install folder.
const inputs = [join(root, 'src'), join(root, 'package.json'), join(root, 'package-lock.json')];
if (Math.max(...inputs.map(newestChange)) > statSync(bundle).mtimeMs) {
  console.error('tessera: src/ or the packages changed since build/ was made; this runs the old build. Run `npm run build` to run the new code.');
}

// Stack traces in logs name the TypeScript file and line, not the bundle's.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundle).href);
