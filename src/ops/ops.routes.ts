import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fp from 'fastify-plugin';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { BEARER_CHALLENGE, INVALID_TOKEN_CHALLENGE } from '../http/access-control.ts';
import { AppError, notFound } from '../http/errors.ts';
import { problems } from '../http/schemas.ts';
import { Metrics } from './metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's Prometheus metrics (src/ops). */
    metrics: Metrics;
  }
}

/** How long `/readyz` waits for the database before calling it unreachable. */
const DATABASE_CHECK_TIMEOUT_MS = 2000;

const Check = (description: string) => Type.Union([Type.Literal('ok'), Type.Literal('failed'), Type.Literal('not-applicable')], { description });

const ReadyBody = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not-ready')]),
  checks: Type.Object({
    database: Check('A query answers within 2 s.'),
    changeListener: Check("PostgreSQL only: the LISTEN connection that hears other instances' changes."),
    rateLimiter: Type.Union([Type.Literal('redis'), Type.Literal('memory'), Type.Literal('memory-fallback')], {
      description: 'Where rate limits are counted. "memory-fallback" (Redis unreachable) degrades limits to per instance but does not make the instance unready.',
    }),
  }),
});

const TAGS = ['Operations'];

async function databaseReachable(ctx: Context): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`select 1`.execute(ctx.storage.db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), DATABASE_CHECK_TIMEOUT_MS);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function sameToken(sent: string, expected: string): boolean {
  // Hash both sides: equal lengths for timingSafeEqual, and no length leak.
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(sent), digest(expected));
}

const routes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const metrics = new Metrics(ctx);
  app.decorate('metrics', metrics);
  // A callback hook: no promise per request.
  app.addHook('onResponse', function countRequest(request, reply, done) {
    metrics.observe(request, reply);
    done();
  });

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        tags: TAGS,
        summary: 'Readiness',
        description:
          'For load balancers: 200 when this instance can serve (the database answers and, on PostgreSQL, the change listener is connected), else 503. Public, and says nothing beyond these checks.',
        security: [],
        response: { 200: ReadyBody, 503: ReadyBody },
      },
    },
    async (_request, reply) => {
      const database = (await databaseReachable(ctx)) ? 'ok' : 'failed';
      const changeListener = ctx.storage.dialect !== 'postgres' ? 'not-applicable' : ctx.changes.live ? 'ok' : 'failed';
      const limiter = ctx.rateLimiter as { backend?: 'redis' | 'memory-fallback' };
      const rateLimiter = limiter.backend ?? 'memory';
      const ready = database === 'ok' && changeListener !== 'failed';
      reply.header('cache-control', 'no-store');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks: { database, changeListener, rateLimiter } });
    },
  );

  app.get(
    '/metrics',
    {
      // Not for everyone: the handler requires TESSERA_METRICS_TOKEN (a scraper's credential,
      // not an API key), and without it configured the endpoint does not exist.
      config: { access: 'public' },
      schema: {
        tags: TAGS,
        summary: 'Prometheus metrics',
        description:
          'Metrics in the Prometheus text format: requests by route and status, authentication outcomes, access-key cache hit ratio, change propagation lag, database pool usage. Requires `Authorization: Bearer <TESSERA_METRICS_TOKEN>`; answers 404 when that variable is not set.',
        security: [],
        response: { 200: Type.String({ description: 'text/plain; version=0.0.4' }), ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      const expected = ctx.config.metricsToken;
      if (expected === undefined) throw notFound('The metrics endpoint (set TESSERA_METRICS_TOKEN to turn it on)');
      const sent = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '')?.[1];
      if (sent === undefined || !sameToken(sent, expected)) {
        request.authFailure = sent === undefined ? 'no-credentials' : 'metrics-token-mismatch';
        throw new AppError('invalid_token', 'Send the metrics token as "Authorization: Bearer <TESSERA_METRICS_TOKEN>".', {
          headers: { 'www-authenticate': sent === undefined ? BEARER_CHALLENGE : INVALID_TOKEN_CHALLENGE },
        });
      }
      const { contentType, body } = await metrics.render();
      reply.header('cache-control', 'no-store');
      return reply.type(contentType).send(body);
    },
  );
};

/**
 * `/readyz`, `/metrics` and the request counters. Registered with fastify-plugin so that its
 * onResponse hook sees every route of the app, not only its own.
 */
export const opsRoutes = fp(routes, { name: 'ops' });
