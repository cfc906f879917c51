import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { createContext, type Context } from './context.ts';
import { describeDatabase } from './db/database.ts';
import { createLogger } from './http/logging.ts';

/** How long shutdown waits for in-flight requests before closing their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** How often, during that wait, connections that went idle are closed. */
const IDLE_SWEEP_MS = 50;

export interface RunningServer {
  app: FastifyInstance;
  ctx: Context;
  url: string;
  stop(): Promise<void>;
}

/** Starts Tessera: migrations, signing keys, the first admin, then the HTTP server. */
export async function startServer(config: Config): Promise<RunningServer> {
  const log = createLogger(config);
  const ctx = await createContext(config, log);
  const admin = await ctx.users.ensureFirstAdmin(config.adminEmail, config.adminPassword);
  if (admin?.generatedPassword !== undefined) {
    // Printed once, to the terminal only (never to the log): the hash is all that is kept.
    process.stdout.write(
      `\n  First run: a Global Admin user was created.\n    email:    ${admin.user.email}\n    password: ${admin.generatedPassword}\n  Save it now; it will not be shown again.\n\n`,
    );
  }
  if (config.secretSource === 'generated') log.info({ dataDir: config.dataDir }, 'generated a new instance secret in the data folder (mode 0600)');
  const app = await buildApp(ctx);
  await app.listen({ host: config.host, port: config.port });
  ctx.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info(
    { url, database: ctx.storage.dialect, databaseLocation: describeDatabase(config), publicUrl: config.publicUrl, tokenIssuer: ctx.issuer.current },
    'Tessera is listening',
  );
  // Written at once (the log is otherwise written in blocks): whoever started the server waits for it.
  log.flush();
  let stopping: Promise<void> | undefined;
  return {
    app,
    ctx,
    url,
    stop: () =>
      (stopping ??= (async () => {
        // Stop accepting and let in-flight requests finish (new requests on kept-alive
        // connections get 503 + Connection: close); past the grace period, cut what is left.
        // One turn of the event loop first: requests that reached this process before the signal
        // (readable in the same poll as the signal) get parsed and become in-flight, rather than
        // having their connections closed as idle.
        await new Promise<void>((resolve) => setImmediate(resolve));
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            log.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'requests still running after the grace period: closing their connections');
            app.server.closeAllConnections();
            resolve();
          }, SHUTDOWN_GRACE_MS);
          timer.unref();
        });
        // A kept-alive connection whose request finishes after the stop began is idle from then
        // on, and would hold the close until the grace period: close each as it goes idle.
        const sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
        await Promise.race([app.close(), grace]);
        clearTimeout(timer);
        clearInterval(sweep);
        // Then background work: jobs finish, usage is flushed, listeners and pools close.
        await ctx.close();
        log.info('Tessera stopped');
      })()),
  };
}
