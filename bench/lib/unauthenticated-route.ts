import type { RouteOptions } from 'fastify';
import { ALL_ACCOUNTS, permissionsOf, type Grant } from '../../src/auth/permissions.ts';
import type { Principal } from '../../src/auth/principal.ts';

const VIEWER_GRANTS: Grant[] = [{ role: 'global-viewer' }];
/** The caller the route is served as: a Global Viewer, so the handler scopes its answer as for (b)'s key. */
const FIXED_VIEWER: Principal = Object.freeze({
  kind: 'access-key',
  id: 'bench-unauthenticated',
  actor: 'bench',
  via: 'api-key',
  grants: VIEWER_GRANTS,
  permissions: permissionsOf(VIEWER_GRANTS),
  scope: ALL_ACCOUNTS,
});

/**
 * An `onRoute` hook for `buildApp` (its `onRoute` option) that serves `GET path` without
 * authentication, as a fixed Global Viewer: the benchmark's (a), which measures what
 * authentication costs on that route. Every other hook of the app runs as for an
 * authenticated request; the access-control hook sees a public route and lets it through.
 */
export function unauthenticatedRoute(path: string): (route: RouteOptions) => void {
  return (route) => {
    if (route.method !== 'GET' || route.url.replace(/(.)\/$/, '$1') !== path) return;
    route.config = { ...(route.config ?? {}), access: 'public' };
    const own = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [
      (request, _reply, done) => {
        request.principal = FIXED_VIEWER;
        done();
      },
      ...own,
    ];
  };
}
