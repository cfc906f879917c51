/**
 * The typed API client: openapi-fetch over the paths generated from the server's
 * /openapi.json (schema.d.ts). The session cookie rides along; state-changing requests carry
 * the session's CSRF token; a 401 on any call but the session's own tells the app the
 * session has ended.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { ApiError, codeOf, parseRetryAfter, type Problem } from './errors';

let csrfToken: string | undefined;
let onSessionEnded: (() => void) | undefined;

/** Remembers the CSRF token of the current session (undefined when signed out). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when the server answers 401 to a signed-in request: the session expired or ended. */
export function onUnauthorized(listener: (() => void) | undefined): void {
  onSessionEnded = listener;
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrfToken !== undefined) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith('/api/v1/session')) onSessionEnded?.();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(session);

/**
 * Unwraps an openapi-fetch answer: the data, or an ApiError carrying the problem's code.
 * A network failure becomes an ApiError with code `network_error`.
 */
export async function call<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await pending;
  } catch (cause) {
    throw new ApiError({ status: 0, code: 'network_error', title: 'Network error', detail: String(cause) });
  }
  if (result.response.ok) return result.data as T;
  // Whatever answered: the server's problem+json, or a proxy's page (then text, not an object).
  const body = result.error as (Partial<Omit<Problem, 'code'>> & { code?: unknown }) | undefined;
  throw new ApiError({
    status: result.response.status,
    code: codeOf(body?.code, result.response.status),
    title: body?.title ?? result.response.statusText,
    detail: body?.detail ?? '',
    errors: body?.errors,
    unknownAccounts: body?.unknownAccounts,
    retryAfterSeconds: parseRetryAfter(result.response.headers.get('retry-after')),
  });
}
