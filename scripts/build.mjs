// Builds what Tessera runs: the server's bundle (build/) and the console (web/dist/). `npm ci`
// runs it (the `prepare` script), as does `npm run build`; nothing is built or written into the
// install folder when Tessera starts, so that folder may be read-only.
//
//   node scripts/build.mjs             the server and the console
//   node scripts/build.mjs --server    the server only (the integration tests build this first)
//   node scripts/build.mjs --prepare   as npm's `prepare` script: the server and the console,
//                                      but not under `npx` (below)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const webDir = join(root, 'web');
// One folder below the root, as src/ is, so that paths the sources resolve from their own
// location (`../web/dist/`) mean the same in the bundle.
const outDir = join(root, 'build');
const serverOnly = process.argv.includes('--server');

// `npx tessera` links this folder into npm's npx cache to run its bin, and npm runs a linked
// folder's `prepare` there too. The folder was built when it was installed, and may be
// read-only: the CLI must not rebuild it (nor take a console build's time).
if (process.argv.includes('--prepare') && process.env.npm_command === 'exec') process.exit(0);

/** What the build makes: when all of it is there, an install without the build tools may keep it. */
const products = [join(outDir, 'tessera.mjs'), join(outDir, 'wal-checkpoint-worker.mjs'), ...(serverOnly ? [] : [join(webDir, 'dist', 'index.html')])];

function installed(pkg, from) {
  try {
    createRequire(join(from, 'package.json')).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

// esbuild and Vite are development dependencies: `npm ci --omit=dev` runs this script without
// them. An install made that way runs the build it was given (made where the tools were, as
// in a container's build stage); without one it cannot run at all, and says so here.
const missing = [['esbuild', root], ...(serverOnly ? [] : [['vite', webDir]])].filter(([pkg, from]) => !installed(pkg, from)).map(([pkg]) => pkg);
if (missing.length > 0) {
  if (products.every((file) => existsSync(file))) {
    console.log(`Building needs ${missing.join(' and ')} (development dependencies, not installed): keeping the build that is here.`);
    process.exit(0);
  }
  console.error(
    `Cannot build Tessera: ${missing.join(' and ')} (development dependencies) not installed. Install with \`npm ci\` (which builds), then \`npm prune --omit=dev\` if the development dependencies must go.`,
  );
  process.exit(1);
}

await buildServer();
if (!serverOnly) buildConsole();

/**
 * The server as one ES module made from src/ and the packages it imports, and its WAL
 * checkpoint worker beside it. Loading the TypeScript sources through a transpiling loader
 * costs about a second at every start, and resolving and reading the hundreds of files of
 * kysely, typebox, fastify and ajv one by one most of another.
 */
async function buildServer() {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: {
      tessera: join(root, 'src', 'main.ts'),
      'wal-checkpoint-worker': join(root, 'src', 'db', 'wal-checkpoint-worker.ts'),
    },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Left in node_modules: native code (better-sqlite3), pg's optional native binding, and
    // packages that load their own files by path (static assets, pino's transport workers).
    external: ['better-sqlite3', 'pg', '@fastify/static', '@fastify/swagger-ui', 'pino'],
    // Bundled CommonJS packages call require(): give the module one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'warning',
  });
  mkdirSync(outDir, { recursive: true });
  // Each file written aside and renamed: a process starting meanwhile never loads half a file.
  for (const file of result.outputFiles) {
    const partial = `${file.path}.${process.pid}.partial`;
    try {
      writeFileSync(partial, file.contents);
      renameSync(partial, file.path);
    } finally {
      rmSync(partial, { force: true });
    }
  }
}

function buildConsole() {
  const built = spawnSync('npm', ['run', 'build', '--workspace', 'web'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
