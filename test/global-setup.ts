import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Builds the server before the suite: many tests run the real entry point (`node
 * bin/tessera.js`), which runs the build and never makes one, so the build must be of the
 * sources under test. The console (web/dist) is not needed here; the browser tests build it.
 */
export default function buildServer(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build.mjs', import.meta.url)), '--server'], { stdio: 'inherit' });
}
