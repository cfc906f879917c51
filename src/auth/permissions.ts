/**
 * Roles, grants and the permissions they give. A principal (key or user) holds a list of
 * grants; its rights are the union of what each grant gives.
 */
export const ROLES = ['global-admin', 'global-viewer', 'cloud-account-viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_TITLES: Record<Role, string> = {
  'global-admin': 'Global Admin',
  'global-viewer': 'Global Viewer',
  'cloud-account-viewer': 'Cloud Account Viewer',
};

export type Grant = { role: 'global-admin' } | { role: 'global-viewer' } | { role: 'cloud-account-viewer'; accounts: 'all' | string[] };

/** What a route may require. Reads of account-bound data are further limited by the account scope. */
export const PERMISSIONS = [
  'access-keys:manage',
  'users:manage',
  'audit:read',
  'signing-keys:manage',
  'cloud-accounts:read',
  'cloud-accounts:write',
  'credentials:read',
  'credentials:write',
  'assets:read',
  'assets:write',
  'policy:read',
  'policy:write',
  'cves:write',
  'reports:read',
  'webhooks:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * What a route declares in `config.access`: a permission, `authenticated` (any valid
 * principal) or `public`. A route that declares nothing is refused (deny by default).
 */
export type RouteAccess = Permission | 'authenticated' | 'public';

const ADMIN_ONLY: ReadonlySet<Permission> = new Set(['access-keys:manage', 'users:manage', 'audit:read', 'signing-keys:manage', 'webhooks:manage']);

const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  'global-admin': new Set(PERMISSIONS),
  'global-viewer': new Set(PERMISSIONS.filter((p) => p.endsWith(':read') && !ADMIN_ONLY.has(p))),
  'cloud-account-viewer': new Set(['cloud-accounts:read', 'assets:read', 'reports:read']),
};

/** Which cloud accounts a principal may see: all of them (including later ones), or a fixed list. */
export type AccountScope = { readonly all: true } | { readonly all: false; readonly ids: readonly string[] };

export const ALL_ACCOUNTS: AccountScope = Object.freeze({ all: true });

/**
 * Merges duplicate grants: one grant per role; Cloud Account Viewer lists are united, and
 * "all" absorbs any list. The result is in a stable order (the order of ROLES).
 */
export function mergeGrants(grants: readonly Grant[]): Grant[] {
  const roles = new Set<Role>();
  let accounts: 'all' | Set<string> | undefined;
  for (const grant of grants) {
    roles.add(grant.role);
    if (grant.role === 'cloud-account-viewer') {
      if (grant.accounts === 'all' || accounts === 'all') accounts = 'all';
      else {
        accounts ??= new Set();
        for (const id of grant.accounts) accounts.add(id);
      }
    }
  }
  return ROLES.filter((role) => roles.has(role)).map(
    (role): Grant => (role === 'cloud-account-viewer' ? { role, accounts: accounts === 'all' ? 'all' : [...(accounts ?? [])].sort() } : { role }),
  );
}

export function permissionsOf(grants: readonly Grant[]): ReadonlySet<Permission> {
  const result = new Set<Permission>();
  for (const grant of grants) for (const p of ROLE_PERMISSIONS[grant.role]) result.add(p);
  return result;
}

export function accountScopeOf(grants: readonly Grant[]): AccountScope {
  const ids = new Set<string>();
  for (const grant of grants) {
    if (grant.role !== 'cloud-account-viewer' || grant.accounts === 'all') {
      return ALL_ACCOUNTS;
    }
    for (const id of grant.accounts) ids.add(id);
  }
  return Object.freeze({ all: false, ids: Object.freeze([...ids]) });
}

/** The account ids that grants name explicitly (to check they exist). */
export function namedAccountIds(grants: readonly Grant[]): string[] {
  return [...new Set(grants.flatMap((g) => (g.role === 'cloud-account-viewer' && g.accounts !== 'all' ? g.accounts : [])))];
}

export function isGlobalAdmin(grants: readonly Grant[]): boolean {
  return grants.some((g) => g.role === 'global-admin');
}
