/**
 * A Tessera server for the benchmark, on the configured database (environment as for
 * `tessera serve`), as `tessera serve` runs it (context, app, scheduler), logging at the
 * configured level (by default a line per request) to /dev/null. argv[2] is the mode:
 *
 *   auth    Tessera as shipped (warm path: verified-token and key-state caches)
 *   cold    both caches sized 1, so that every request verifies its token and reads its key;
 *           and, on a port of its own, an app with (d)'s reference in the authenticator's
 *           place: a raw Ed25519 verification (node:crypto) of the bearer token and one lookup
 *           of its key by primary key (better-sqlite3, prepared), answering a fixed Global
 *           Viewer; nothing else is checked. One process serves both (and the app without
 *           authentication), so the two are compared on the same process.
 *
 * argv[3…], when given, are GET routes (as declared: `/api/v1/cloud-accounts/:id`) that a
 * second app of the same process serves without authentication, as a fixed Global Viewer
 * (bench/lib/unauthenticated-route.ts) on its own port.
 *
 * With BENCH_PROFILE set (a file name), the first SIGUSR2 starts a CPU profile (node:inspector)
 * and the second stops it and writes it there: the profile covers the window the benchmark
 * measures, not the start-up.
 *
 * In cold mode, what the requests counted (usage, activity) is written only when the benchmark
 * POSTs /flush to the control port (see below).
 *
 * Prints one JSON line `{ "port": N, "offPort": M, "referencePort": R, "controlPort": C }`
 * (the ports it has) when listening; stops on SIGTERM.
 */
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector';
import { AccessKeyAuthenticator } from '../../src/access-keys/access-key.auth.ts';
import { Authenticator, type BearerVerifier } from '../../src/auth/authenticate.ts';
import { accountScopeOf, permissionsOf, type Grant } from '../../src/auth/permissions.ts';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import pino from 'pino';
import { logDestination, loggerOptions } from '../../src/http/logging.ts';
import { unauthenticatedRoute } from '../lib/unauthenticated-route.ts';
import { listeningPort } from '../lib/processes.ts';

const mode = process.argv[2];
if (mode !== 'auth' && mode !== 'cold') throw new Error('mode: auth or cold');
const config = loadConfig();
const ctx = await createContext(config, pino(loggerOptions(config), logDestination('/dev/null')));
/** Cold mode: writes what the requests counted (usage, activity) when the benchmark asks. */
let flushCounts: (() => Promise<void>) | undefined;
if (mode === 'cold') {
  const cold = new AccessKeyAuthenticator(ctx.storage, ctx.tokens, ctx.changes, ctx.clock, { tokenCacheSize: 1, stateCacheSize: 1 });
  cold.onUse(ctx.usage.record);
  ctx.authenticator.useBearer('accessKey', cold.verify);
  // The scheduler's flush every 10 s would land in whichever app's run is measured then, charging
  // another target for (d)'s batched writes: here they run only when the benchmark asks, at the
  // end of each round's cold runs (about one flush interval of cold requests), inside (d)'s window.
  const counters = [ctx.usage, ctx.activity];
  const flushes = counters.map((counter) => counter.flush.bind(counter));
  for (const counter of counters) counter.flush = () => Promise.resolve();
  flushCounts = async () => {
    for (const flush of flushes) await flush();
  };
}

/** (d)'s reference, as a bearer verifier: the raw verification and lookup, a fixed Global Viewer. */
function referenceVerifier(sqlite: NonNullable<typeof ctx.storage.sqlite>): BearerVerifier {
  const byId = sqlite.prepare('select * from access_keys where id = ?');
  const keys = new Map<string, KeyObject | undefined>();
  const grants: Grant[] = [{ role: 'global-viewer' }];
  const viewer = {
    kind: 'access-key',
    id: 'reference',
    actor: 'key:reference',
    via: 'api-key',
    grants,
    permissions: permissionsOf(grants),
    scope: accountScopeOf(grants),
  } as const;
  const segment = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
  return async (token) => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const kid = String(segment(header)['kid']);
    if (!keys.has(kid)) keys.set(kid, await ctx.signingKeys.verificationKey(kid));
    const key = keys.get(kid);
    if (key === undefined || !cryptoVerify(null, Buffer.from(`${header}.${payload}`, 'latin1'), key, Buffer.from(signature, 'base64url')))
      return { ok: false, reason: 'signature' };
    if (byId.get(String(segment(payload)['sub'])) === undefined) return { ok: false, reason: 'unknown-key' };
    return { ok: true, principal: viewer };
  };
}

const app = await buildApp(ctx);
await app.listen({ host: '127.0.0.1', port: 0 });
// Authentication off, in this same process: a second app on the same context serves the routes
// named without it. A process can run the same code faster or slower than another for its whole
// life, so what authentication adds is measured between two apps of one process.
const openPaths = process.argv.slice(3);
const open = openPaths.length === 0 ? undefined : await buildApp(ctx, { onRoute: unauthenticatedRoute(...openPaths) });
await open?.listen({ host: '127.0.0.1', port: 0 });
let reference: Awaited<ReturnType<typeof buildApp>> | undefined;
if (mode === 'cold') {
  if (ctx.storage.sqlite === undefined) throw new Error('the cold mode runs on SQLite');
  const authenticator = new Authenticator();
  authenticator.useBearer('accessKey', referenceVerifier(ctx.storage.sqlite));
  // The same context in every other respect (a view of it, so its getters stay live).
  reference = await buildApp(Object.create(ctx, { authenticator: { value: authenticator } }) as typeof ctx);
  await reference.listen({ host: '127.0.0.1', port: 0 });
}
// The benchmark's control port: POST /flush runs the flushes held back above, answering when done.
const control =
  flushCounts === undefined
    ? undefined
    : createServer((request, response) => {
        if (request.method !== 'POST' || request.url !== '/flush') return void response.writeHead(404).end();
        flushCounts!().then(
          () => response.writeHead(204).end(),
          (error: unknown) => response.writeHead(500).end(String(error)),
        );
      });
await new Promise<void>((resolve) => (control === undefined ? resolve() : control.listen(0, '127.0.0.1', resolve)));
ctx.start();
process.stdout.write(
  `${JSON.stringify({
    port: listeningPort(app.server),
    ...(open === undefined ? {} : { offPort: listeningPort(open.server) }),
    ...(reference === undefined ? {} : { referencePort: listeningPort(reference.server) }),
    ...(control === undefined ? {} : { controlPort: listeningPort(control) }),
  })}\n`,
);
const profileFile = process.env['BENCH_PROFILE'];
if (profileFile !== undefined) {
  const session = new Session();
  session.connect();
  let profiling = false;
  process.on('SIGUSR2', () => {
    profiling = !profiling;
    // A sample every 100 µs: a request costs tens of µs, and a run is a few seconds.
    if (profiling) session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 100 }, () => session.post('Profiler.start')));
    else session.post('Profiler.stop', (error, result) => writeFileSync(profileFile, error === null ? JSON.stringify(result.profile) : `error: ${error.message}`));
  });
}
process.once('SIGINT', () => process.exit(0));
process.once('SIGTERM', () => {
  control?.close();
  void Promise.all([app.close(), open?.close(), reference?.close()])
    .then(() => ctx.close())
    .finally(() => process.exit(0));
});
