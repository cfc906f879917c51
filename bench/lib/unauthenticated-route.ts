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
 * An `onRoute` hook for `buildApp` (its `onRoute` option) that serves `GET` of each of `paths`
 * (as routes are declared: `/api/v1/cloud-accounts/:id`) without authentication, as a fixed
 * Global Viewer: the benchmark's apps without authentication, against which it measures
 * what authentication costs on those routes. Every other hook of the app runs as for an
 * authenticated request; the access-control hook sees a public route and lets it through.
 */
export function unauthenticatedRoute(...paths: string[]): (route: RouteOptions) => void {
  return (route) => {
    if (route.method !== 'GET' || !paths.includes(route.url.replace(/(.)\/$/, '$1'))) return;
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
