import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type FastifyPluginAsync, type RouteOptions } from 'fastify';
import { Type } from 'typebox';
import { accessKeyLeakRoutes } from './access-keys/access-key-leaks.routes.ts';
import { accessKeyRoutes } from './access-keys/access-key.routes.ts';
import { expiringSoonRoutes } from './access-keys/expiry-warnings.routes.ts';
import { accessKeyActivityRoutes } from './access-keys/access-key-activity.routes.ts';
import { assetRoutes } from './assets/asset.routes.ts';
import { introspectRoutes } from './auth/introspect.routes.ts';
import { cloudAccountRoutes } from './cloud-accounts/cloud-account.routes.ts';
import { credentialRoutes } from './credentials/credential.routes.ts';
import { policyRoutes } from './policy/policy.routes.ts';
import { accessKeyPolicyRoutes } from './access-keys/access-key-policy.routes.ts';
import { reportRoutes } from './reports/report.routes.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { tokenRoutes } from './auth/token.routes.ts';
import { sessionRoutes } from './sessions/session.routes.ts';
import { invitationRoutes } from './users/invitation.routes.ts';
import { userRoutes } from './users/user.routes.ts';
import { webhookRoutes } from './webhooks/webhook.routes.ts';
import type { Context } from './context.ts';
import { accessControl, routeConfigOf, type RouteConfig } from './http/access-control.ts';
import { RouteTable } from './http/route-table.ts';
import { opsRoutes } from './ops/ops.routes.ts';
import { loggableUrl, requestLineLogger, requestLogger } from './http/logging.ts';
import { clientErrorHandler, problemHandler, sendInvalidFields, sendProblem } from './http/problem-handler.ts';
import { validatorCompiler } from './http/validation.ts';
import { CONSOLE_CSP, pageHeaders } from './http/page-headers.ts';
import { apiHomepage } from './http/api-homepage.ts';
import { enumsAsValues } from './http/openapi-enums.ts';
import { inputText, parseUrlEncoded } from './http/input-text.ts';

export const API_PREFIX = '/api/v1';
const WEB_DIST = fileURLToPath(new URL('../web/dist/', import.meta.url));
/** The API homepage's script, styles and logo: read from src/ by the sources and the bundle alike. */
const API_HOMEPAGE_ASSETS = new URL('../src/http/api-homepage/', import.meta.url);
/** Request bodies larger than this are refused with 413 before parsing. */
const BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  /** Log one line per request (the server); tests pass false. */
  logRequests?: boolean;
  /**
   * Called with every route as it is registered, before any hook of the app's own: it may read
   * the route's options (the route-table tests collect them) or amend them.
   */
  onRoute?: (route: RouteOptions) => void;
}

/** Registers `plugin` so that every route it adds is declared public (static files, the API homepage). */
function publicScope(plugin: FastifyPluginAsync): FastifyPluginAsync {
  return async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), access: route.config?.access ?? 'public' };
    });
    await scope.register(plugin);
  };
}

/**
 * The request's cloud account: as its handler learned it, else as its route declares it
 * (`config.account`). Only for a request that succeeded: a failed one may name an account that
 * does not exist, and filing those would let a key grow its record with invented ids.
 */
function requestAccount(request: FastifyRequest, config: RouteConfig, status: number): string | undefined {
  if (status >= 400) return undefined;
  if (request.activityAccountId !== null) return request.activityAccountId;
  const source = config.account;
  if (source === undefined) return undefined;
  const value = (source.from === 'params' ? request.params : request.query) as Record<string, unknown> | undefined;
  const id = value?.[source.name];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Builds the Fastify app on a wired context: the API, the JWKS, the API homepage and the console. */
export async function buildApp(ctx: Context, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    // One line per request, written by our onResponse hook (with the auth outcome).
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: requestLogger,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 200, querystringParser: parseUrlEncoded },
    // request.ip is the one client address every consumer reads (sign-in throttling, the audit
    // log, a key's last-use address, the request log): the peer, or, when the peer is a trusted
    // proxy, the nearest X-Forwarded-For entry that is not one (Fastify's proxy-addr walk).
    trustProxy: ctx.config.trustedProxies.length === 0 ? false : [...ctx.config.trustedProxies],
    clientErrorHandler,
    genReqId: function requestId(req) {
      const sent = req.headers['x-request-id'];
      return typeof sent === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(sent) ? sent : randomUUID();
    },
    // Errors raised before routing (a path segment over maxParamLength, a malformed URL) get the
    // same problem+json shape, without echoing the offending text (it may be a pasted token).
    frameworkErrors: (error, request, reply) => {
      const code = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'not_found' : 'validation_failed';
      request.log.info({ method: request.method, url: loggableUrl(request.url), status: code === 'not_found' ? 404 : 400, ip: request.ip }, 'request');
      if (code === 'not_found') return sendProblem(reply, code, 'No such resource.');
      // find-my-way could not percent-decode the path (bad escapes, or bytes that are not UTF-8).
      return sendInvalidFields(reply, [{ in: 'path', pointer: '', message: 'is not valid percent-encoded UTF-8' }]);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  if (options.onRoute !== undefined) app.addHook('onRoute', options.onRoute);
  const routes = new RouteTable();
  app.addHook('onRoute', routes.add);

  await app.register(problemHandler, { onDatabaseUnavailable: ctx.databaseAvailability.failed });
  await app.register(inputText);
  // JSON everywhere; forms only where a route accepts them (OAuth-style endpoints). No plain text.
  app.removeContentTypeParser('text/plain');
  await app.register(fastifyFormbody, { parser: parseUrlEncoded });
  // Before access control: the session resolver reads the parsed cookie.
  await app.register(fastifyCookie);
  await app.register(accessControl, { authenticator: ctx.authenticator, changes: ctx.changes });

  // What each key did: counted in memory at response time (no I/O, no promise), API keys only.
  app.addHook('onResponse', (request, reply, done) => {
    const caller = request.caller;
    if (caller !== null && caller.kind === 'access-key') {
      const config = routeConfigOf(request);
      ctx.activity.record(
        {
          keyId: caller.id,
          method: request.method,
          route: routes.template(config.url ?? ''),
          status: reply.statusCode,
          ip: request.ip,
          accountId: requestAccount(request, config, reply.statusCode),
        },
        request.callerAt ?? ctx.clock(),
      );
    }
    done();
  });

  // Callback hooks from here on: an async hook costs a promise (and its ticks) per request.
  app.addHook('onSend', function securityHeaders(request, reply, payload, done) {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (request.url.startsWith(API_PREFIX)) reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store');
    done(null, payload);
  });
  if (options.logRequests !== false) {
    const requestLines = requestLineLogger(ctx.log);
    app.addHook('onResponse', function logRequest(request, reply, done) {
      if (requestLines.isLevelEnabled('info')) {
        requestLines.info(
          {
            reqId: request.id,
            method: request.method,
            url: loggableUrl(request.url),
            status: reply.statusCode,
            ms: Math.round(reply.elapsedTime * 100) / 100,
            ip: request.ip,
            actor: request.principal?.actor,
            authFailure: request.authFailure ?? undefined,
            authRefusal: request.authRefusal ?? undefined,
          },
          'request',
        );
      }
      done();
    });
  }

  await app.register(fastifySwagger, {
    // A collection route is registered as `/` under its prefix; document it without the slash.
    transform: ({ schema, url }) => ({ schema, url: url.length > 1 ? url.replace(/\/$/, '') : url }),
    transformObject: (document) => ('openapiObject' in document ? enumsAsValues(document.openapiObject) : document.swaggerObject),
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera API',
        version: '1',
        description:
          "The REST API of the console. Authenticate with an API access key (`Authorization: Bearer <key>`), or on this page with a user's email and password. What a caller may do and see follows its roles as they are now.",
      },
      servers: [{ url: ctx.config.publicUrl }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An API access key, or a token from POST /api/v1/token.' },
          userPassword: {
            type: 'oauth2',
            description: "A user's email and password, exchanged for a one-hour token.",
            flows: { password: { tokenUrl: `${API_PREFIX}/token`, scopes: {} } },
          },
        },
      },
      security: [{ apiKey: [] }, { userPassword: [] }],
    },
  });

  await app.register(opsRoutes, { ctx });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        tags: ['Operations'],
        summary: 'Liveness',
        description: 'Answers 200 while the server runs.',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: 'public' },
      schema: {
        tags: ['Operations'],
        summary: 'Public signing keys',
        description:
          "The JWK Set of the Ed25519 keys that sign Tessera's tokens (public parts only). A rotated key signs at once and is in the set from the next request on; the answer is `Cache-Control: no-cache` with an `ETag` (revalidate with `If-None-Match`; 304 while unchanged). Keep a copy and fetch again when a token names an unknown `kid`.",
        security: [],
        response: {
          200: Type.Object({
            keys: Type.Array(Type.Object({ kty: Type.String(), crv: Type.String(), x: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String() })),
          }),
          304: Type.Null({ description: 'The set named by `If-None-Match` is still current.' }),
        },
      },
    },
    async (request, reply) => {
      // A key another process made (`tessera signing-keys rotate`, another instance) signs at
      // once, so it is in this answer: every change committed before this request is heard,
      // and the reload it started has finished, before answering.
      if (!(await ctx.changes.caughtUp())) await ctx.signingKeys.reload();
      await ctx.signingKeys.settled();
      // Never served stale by a cache: revalidated on every use, cheaply (304 by entity tag).
      const etag = ctx.signingKeys.jwksEtag();
      reply.header('cache-control', 'no-cache').header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return ctx.signingKeys.jwks();
    },
  );

  await app.register(
    async (api) => {
      await api.register(accessKeyRoutes, { prefix: '/access-keys', ctx });
      await api.register(accessKeyLeakRoutes, { prefix: '/access-keys/leaks', ctx });
      await api.register(accessKeyActivityRoutes, { prefix: '/access-keys', ctx, routes });
      await api.register(accessKeyPolicyRoutes, { prefix: '/settings/access-key-policy', ctx });
      await api.register(expiringSoonRoutes, { prefix: '/access-keys', ctx });
      await api.register(sessionRoutes, { prefix: '/session', ctx });
      await api.register(tokenRoutes, { prefix: '/token', ctx });
      await api.register(userRoutes, { prefix: '/users', ctx });
      await api.register(invitationRoutes, { prefix: '/invitations', ctx });
      await api.register(auditRoutes, { prefix: '/audit-events', ctx });
      await api.register(introspectRoutes, { prefix: '/token', ctx });
      await api.register(cloudAccountRoutes, { prefix: '/cloud-accounts', ctx });
      await api.register(credentialRoutes, { prefix: '/credentials', ctx });
      await api.register(assetRoutes, { prefix: '/assets', ctx });
      await api.register(policyRoutes, { prefix: '/policy', ctx });
      await api.register(reportRoutes, { prefix: '/reports', ctx });
      await api.register(webhookRoutes, { prefix: '/webhooks', ctx });
    },
    { prefix: API_PREFIX },
  );

  await app.register(publicScope(async (scope) => scope.register(apiHomepage, { assets: API_HOMEPAGE_ASSETS })));

  if (existsSync(WEB_DIST)) {
    await app.register(
      publicScope(async (scope) => {
        // The console loads only its own files and talks only to this server; no page may frame it.
        scope.addHook('onSend', pageHeaders(CONSOLE_CSP));
        await scope.register(fastifyStatic, { root: WEB_DIST, wildcard: false, index: ['index.html'] });
        // The console is a single-page app: its own paths all load index.html.
        scope.get('/*', { schema: { hide: true } }, (request, reply) => {
          if (request.url.startsWith('/api/')) return reply.callNotFound();
          return reply.sendFile('index.html');
        });
      }),
    );
  }

  // Set last, so that unknown routes pass through the same hooks (request log line included).
  // The path is echoed with anything token-shaped blanked: people paste keys into URLs.
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'not_found', `No route ${request.method} ${loggableUrl(request.url.split('?')[0] ?? '/')}.`));

  return app as unknown as FastifyInstance;
}
