/**
 * Roles as the console names and explains them. The role list, titles and the permissions
 * each role gives come from the server's own module (src/auth/permissions.ts), so the menu
 * and the API cannot disagree about who may do what.
 */
import { permissionsOf, ROLE_TITLES, ROLES, type Permission, type Role } from '../../../src/auth/permissions.ts';
import type { Grant } from '../api/types';

export { ROLES, ROLE_TITLES, type Permission, type Role };

/** What each role grants, for the info tooltips (the help page's words). */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  'global-admin': 'Unlimited access to all functions, including API access keys, users and the audit log.',
  'global-viewer': 'View-only access to all functions, except API access keys, users and the audit log.',
  'cloud-account-viewer': 'View-only access to all or selected public cloud accounts, their assets and reports.',
};

export function can(grants: readonly Grant[] | undefined, permission: Permission): boolean {
  return grants !== undefined && permissionsOf(grants as Parameters<typeof permissionsOf>[0]).has(permission);
}

/** "Cloud Account Viewer (2 accounts)" etc., given account names by id. */
export function grantLabel(grant: Grant, accountNames?: ReadonlyMap<string, string>): string {
  const title = ROLE_TITLES[grant.role];
  if (grant.role !== 'cloud-account-viewer') return title;
  if (grant.accounts === 'all') return `${title} (all accounts)`;
  const names = grant.accounts.map((id) => accountNames?.get(id) ?? id).sort((a, b) => a.localeCompare(b));
  if (names.length <= 2) return `${title} (${names.join(', ') || 'no accounts'})`;
  return `${title} (${names.length} accounts)`;
}
