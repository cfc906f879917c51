/**
 * A Tessera server for the benchmark, on the configured database (environment as for
 * `tessera serve`), as `tessera serve` runs it (context, app, scheduler) but without a
 * log line per request (the peers log nothing either). argv[2] is the mode:
 *
 *   auth    Tessera as shipped (warm path: verified-token and key-state caches)
 *   unauth  the route at argv[3] served without authentication (AppOptions.benchUnauthenticated)
 *   cold    both caches sized 1, so that every request verifies its token and reads its key
 *
 * Prints one JSON line `{ "port": N }` when listening; stops on SIGTERM.
 */
import { AccessKeyAuthenticator } from '../../src/access-keys/access-key.auth.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/http/logging.ts';

const mode = process.argv[2];
if (mode !== 'auth' && mode !== 'unauth' && mode !== 'cold') throw new Error('mode: auth, unauth or cold');
const config = loadConfig();
const ctx = await createContext(config, createLogger(config));
if (mode === 'cold') {
  const cold = new AccessKeyAuthenticator(ctx.storage.db, ctx.tokens, ctx.feed, ctx.transactions, ctx.clock, { tokenCacheSize: 1, stateCacheSize: 1 });
  cold.onUse(ctx.usage.record);
  ctx.authenticator.useBearer('accessKey', cold.verify);
}
const app = await buildApp(ctx, { logRequests: false, ...(mode === 'unauth' ? { benchUnauthenticated: process.argv[3] } : {}) });
await app.listen({ host: '127.0.0.1', port: 0 });
ctx.scheduler.start();
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0 })}\n`);
process.once('SIGINT', () => process.exit(0));
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => ctx.close())
    .finally(() => process.exit(0));
});
