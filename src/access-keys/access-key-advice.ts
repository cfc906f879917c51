import { accountScopeOf, type Grant, permissionsOf } from '../auth/permissions.ts';
import type { RouteTable } from '../http/route-table.ts';

/** A key's recorded requests with one method, route, status and account, summed over the kept window. */
export interface RecordedRequests {
  method: string;
  route: string;
  status: number;
  /** '' when the requests had no cloud account. */
  accountId: string;
  count: number;
}

/** Recorded requests that proposed roles would have refused. */
export interface WouldDeny {
  method: string;
  route: string;
  accountId?: string;
  count: number;
}

/**
 * The requests that show what a key needs: those that succeeded (status below 400). A request
 * that was refused (401, 403), not found (404: an account outside the scope looks the same),
 * invalid, throttled or failed got the caller nothing, so it neither widens the advice nor
 * counts in a dry run: narrowing a key never breaks a call that did not work already. Requests
 * on a route this version no longer has cannot recur, and are left out too.
 */
export function neededRequests(recorded: readonly RecordedRequests[], routes: RouteTable): RecordedRequests[] {
  return recorded.filter((r) => r.status < 400 && routes.find(r.method, r.route)?.access !== undefined);
}

/** Whether `grants` allow a request on `route` (as its route declares) for `accountId`. */
function allows(grants: readonly Grant[], routes: RouteTable, request: RecordedRequests): boolean {
  const access = routes.find(request.method, request.route)?.access;
  if (access === undefined) return false;
  if (access === 'public') return true;
  if (grants.length === 0) return false;
  if (access !== 'authenticated' && !permissionsOf(grants).has(access)) return false;
  if (request.accountId === '') return true;
  // An account outside the scope does not exist for the caller: its request would have been a 404.
  const scope = accountScopeOf(grants);
  return scope.all || scope.ids.includes(request.accountId);
}

/** Which of the needed requests `grants` would have refused, summed by method, route and account. */
export function dryRun(needed: readonly RecordedRequests[], grants: readonly Grant[], routes: RouteTable): WouldDeny[] {
  const denied = new Map<string, WouldDeny>();
  for (const request of needed) {
    if (allows(grants, routes, request)) continue;
    const key = `${request.method} ${request.route} ${request.accountId}`;
    const entry = denied.get(key);
    if (entry !== undefined) entry.count += request.count;
    else denied.set(key, { method: request.method, route: request.route, ...(request.accountId === '' ? {} : { accountId: request.accountId }), count: request.count });
  }
  return [...denied.values()];
}

/**
 * The smallest grants under which every needed request would have succeeded. The roles nest
 * (Cloud Account Viewer of some accounts ⊂ of all ⊂ Global Viewer ⊂ Global Admin), so the
 * answer is the first of those that refuses none of them: a Global Admin key that only read two
 * accounts becomes a Cloud Account Viewer of those two. Requests that named no account (a list,
 * the summary report) are allowed by any scope, so they do not widen it; when none named an
 * account at all, "all" keeps their answers as they were. No needed requests: no roles.
 */
export function adviseGrants(needed: readonly RecordedRequests[], routes: RouteTable): Grant[] {
  if (needed.length === 0) return [];
  const accounts = [...new Set(needed.map((r) => r.accountId).filter((id) => id !== ''))].sort();
  const candidates: Grant[][] = [
    ...(accounts.length > 0 ? [[{ role: 'cloud-account-viewer' as const, accounts }]] : []),
    [{ role: 'cloud-account-viewer', accounts: 'all' }],
    [{ role: 'global-viewer' }],
  ];
  return candidates.find((grants) => dryRun(needed, grants, routes).length === 0) ?? [{ role: 'global-admin' }];
}
