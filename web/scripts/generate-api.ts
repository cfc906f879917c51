/**
 * Writes the server's OpenAPI document to web/openapi.json and the typed client's schema to
 * web/src/api/schema.d.ts. Run after any API change: `npm run generate:api -w web`.
 *
 * With `--check` (`npm run check:api`, part of `npm test`) it writes nothing and fails when the
 * committed files differ from what the server's routes generate now.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderApiFiles, staleApiFiles } from './api-client.ts';

const webDir = fileURLToPath(new URL('..', import.meta.url));
const files = await renderApiFiles();

if (process.argv.includes('--check')) {
  const stale = staleApiFiles(files, webDir);
  if (stale.length > 0) {
    console.error(
      `The console's generated API client is out of date with the server's routes: ${stale.map((path) => `web/${path}`).join(', ')}.\n` +
        'Run `npm run generate:api -w web` and commit the result.',
    );
    process.exit(1);
  }
  console.log('web/openapi.json and web/src/api/schema.d.ts match the server.');
} else {
  for (const [path, text] of Object.entries(files)) writeFileSync(join(webDir, path), text);
  console.log('wrote web/openapi.json and web/src/api/schema.d.ts');
}
