import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { AuthResult, Authenticator } from '../auth/authenticate.ts';
import type { RouteAccess } from '../auth/permissions.ts';
import type { Principal } from '../auth/principal.ts';
import type { ChangeBus } from '../changes/change-bus.ts';
import { AppError } from './errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Required on every route: a route without it is refused. */
    access?: RouteAccess;
    /**
     * Where an account-bound route names the request's cloud account (a path parameter or a
     * query field): the account a key's activity record files the request under.
     */
    account?: { readonly from: 'params' | 'query'; readonly name: string };
  }
  interface FastifyRequest {
    /** The authenticated caller; null only on public routes. */
    principal: Principal | null;
    /** The route's config as the access-control hook read it (`routeConfigOf`). */
    routeConfig: RouteConfig | null;
    /**
     * Whoever the credentials authenticated, admitted or not (a 403 for lack of scope still
     * names them): the activity record files refused requests under their key too.
     */
    caller: Principal | null;
    /** When the caller's credentials were checked, if the verifier says (`AuthResult.at`). */
    callerAt: Date | null;
    /** The request's cloud account when a handler learns it (an asset's account), for the activity record. */
    activityAccountId: string | null;
    /** Why authentication was refused, for the request's log line (never sent to the client). */
    authFailure: string | null;
    /**
     * Why a valid key was refused for how it was used (`ip-not-allowed`, `rate-limited`): not a
     * failed authentication, so kept apart from authFailure (in the log line and the metrics).
     */
    authRefusal: string | null;
    /** How many changes this process had applied when the request was admitted. */
    admittedAtChange: number;
    /**
     * Whether the request was counted against its key's rate limit: one admitted again before
     * its handler (a body that arrived after a change) is not counted twice.
     */
    rateLimitCounted: boolean;
  }
}

/** A route's `config` as its requests see it: what the route declared, with its URL. */
export type RouteConfig = FastifyRequest['routeOptions']['config'];

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The methods whose body Fastify never reads (its `bodyless` methods). */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'TRACE']);

/**
 * RFC 6750 §3.1: a request that carries no bearer credentials (none at all, or another scheme)
 * is challenged without an error code; one whose token is refused, with `invalid_token`.
 */
export const BEARER_CHALLENGE = 'Bearer';
export const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';
export const INSUFFICIENT_SCOPE_CHALLENGE = 'Bearer error="insufficient_scope"';

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const SEND_A_KEY = 'Send an API access key as "Authorization: Bearer <key>".';

/**
 * What a refused request is told. A header that is one word is most often a key pasted without
 * its scheme: it is told to add the prefix. The header itself is never echoed (it may be a token).
 */
function refusalDetail(reason: string, authorization: string | undefined): string {
  if (reason === 'no-credentials') return SEND_A_KEY;
  if (reason !== 'not-bearer') return 'The credentials are invalid, expired or revoked.';
  const header = (authorization ?? '').trim();
  if (/^bearer$/i.test(header)) return `The Authorization header names the Bearer scheme but no key. ${SEND_A_KEY}`;
  if (!/\s/.test(header)) return `The Authorization header has no "Bearer " prefix: put "Bearer " before the key. ${SEND_A_KEY}`;
  return `Only the Bearer scheme is accepted. ${SEND_A_KEY}`;
}

/** Sets the request's principal when `result` allows `access`; else the error to answer with. */
function admit(request: FastifyRequest, reply: FastifyReply, access: Exclude<RouteAccess, 'public'>, result: AuthResult | undefined): AppError | undefined {
  // A valid key used from outside its allowlist or over its rate limit: its own answer, and not
  // a failed authentication (authFailure stays null, so no failure is counted or logged as one).
  if (result !== undefined && !result.ok && result.refusal !== undefined) {
    request.authRefusal = result.reason;
    return new AppError(result.refusal.code, result.refusal.detail, result.refusal.headers === undefined ? {} : { headers: result.refusal.headers });
  }
  if (result === undefined || !result.ok) {
    const reason = result?.reason ?? 'no-credentials';
    request.authFailure = reason;
    const presented = reason !== 'no-credentials' && reason !== 'not-bearer';
    return new AppError('invalid_token', refusalDetail(reason, request.headers.authorization), {
      headers: { 'www-authenticate': presented ? INVALID_TOKEN_CHALLENGE : BEARER_CHALLENGE },
    });
  }
  const { principal } = result;
  request.caller = principal;
  request.callerAt = result.at ?? null;
  if (result.headers !== undefined) reply.headers(result.headers);
  if (principal.session !== undefined && !SAFE_METHODS.has(request.method)) {
    const sent = request.headers['x-csrf-token'];
    if (typeof sent !== 'string' || !sameSecret(sent, principal.session.csrfToken)) {
      return new AppError('csrf_failed', "Send the session's CSRF token in the x-csrf-token header.");
    }
  }
  if (access !== 'authenticated' && !principal.permissions.has(access)) {
    return new AppError('insufficient_scope', 'The roles of these credentials do not allow this operation.', {
      headers: { 'www-authenticate': INSUFFICIENT_SCOPE_CHALLENGE },
    });
  }
  request.principal = principal;
  return undefined;
}

/**
 * The request's route config. Fastify builds `request.routeOptions` afresh on every read, so the
 * access-control hook reads it once and keeps its config on the request for later hooks.
 */
export function routeConfigOf(request: FastifyRequest): RouteConfig {
  // A request sent on to the not-found handler (`reply.callNotFound`) changed route since.
  return request.routeConfig !== null && !request.is404 ? request.routeConfig : request.routeOptions.config;
}

/** The principal of a request on a route that requires one. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new TypeError(`route ${request.routeOptions.url} used principalOf() but is public`);
  return request.principal;
}

/** Whether a request comes with a body, whose last byte may arrive well after its headers. */
const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0');

/**
 * The one hook that authenticates and authorizes every request, before its body is parsed.
 * Deny by default: a route that declares no `config.access` answers 403 to everyone.
 */
export const accessControl = fp<{ authenticator: Authenticator; changes: ChangeBus }>(
  async (app: FastifyInstance, { authenticator, changes }) => {
    app.decorateRequest('principal', null);
    app.decorateRequest('routeConfig', null);
    app.decorateRequest('caller', null);
    app.decorateRequest('callerAt', null);
    app.decorateRequest('activityAccountId', null);
    app.decorateRequest('authFailure', null);
    app.decorateRequest('authRefusal', null);
    app.decorateRequest('admittedAtChange', 0);
    app.decorateRequest('rateLimitCounted', false);
    /** Changes published here since start: a request admitted at another count saw different grants. */
    let changesSeen = 0;
    const unsubscribe = changes.subscribe('all', () => void changesSeen++);
    app.addHook('onClose', async () => unsubscribe());
    // A callback hook: on the hot path (a cache answers) the request goes on synchronously, with no promise made.
    app.addHook('onRequest', (request, reply, done) => {
      let result: ReturnType<Authenticator['authenticate']>;
      let access: RouteAccess | undefined;
      try {
        if (request.is404) return done();
        // Other processes' commits are heard here, before this request reads anything (caches included).
        changes.sync();
        const config = request.routeOptions.config;
        request.routeConfig = config;
        access = config.access;
        if (access === undefined) {
          request.log.error({ route: request.routeOptions.url }, 'route declares no access rule: refused');
          throw new AppError('insufficient_scope', 'This operation is not available.', { headers: { 'www-authenticate': INSUFFICIENT_SCOPE_CHALLENGE } });
        }
        if (access === 'public') return done();
        result = authenticator.authenticate(request);
      } catch (error) {
        return done(error as Error);
      }
      const required = access;
      request.admittedAtChange = changesSeen;
      if (result instanceof Promise) result.then((settled) => done(admit(request, reply, required, settled)), done);
      else done(admit(request, reply, required, result));
    });
    // A request with a body was admitted when its headers arrived; its last byte may come after
    // a removal or a reduction of access was answered. If anything changed meanwhile, or the
    // caches are not trusted now, it is admitted again before its handler runs.
    const readmit: preHandlerHookHandler = (request, reply, done) => {
      if (request.principal === null || !hasBody(request)) return done();
      const access = routeConfigOf(request).access;
      if (access === undefined || access === 'public') return done();
      let result: ReturnType<Authenticator['authenticate']>;
      try {
        changes.sync();
        if (changesSeen === request.admittedAtChange && changes.live) return done();
        request.principal = null;
        result = authenticator.authenticate(request);
      } catch (error) {
        return done(error as Error);
      }
      if (result instanceof Promise) result.then((settled) => done(admit(request, reply, access, settled)), done);
      else done(admit(request, reply, access, result));
    };
    // Only routes that take a body wait for one: Fastify runs a GET, HEAD or TRACE handler as soon
    // as its headers are in, so those routes go without the hook (and its runner).
    app.addHook('onRoute', (route) => {
      const methods = [route.method].flat();
      if (methods.every((method) => BODYLESS_METHODS.has(method))) return;
      route.preHandler = [readmit, ...(route.preHandler === undefined ? [] : [route.preHandler].flat())];
    });
  },
  { name: 'access-control' },
);
