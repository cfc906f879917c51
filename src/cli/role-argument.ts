import type { Grant } from '../auth/permissions.ts';

/**
 * Parses a CLI role argument: `global-admin`, `global-viewer`, `cloud-account-viewer:all`
 * or `cloud-account-viewer:ID[,ID…]`. Throws an Error whose message says what is accepted.
 */
export function parseRoleArgument(value: string): Grant {
  const text = value.trim();
  if (text === 'global-admin' || text === 'global-viewer') return { role: text };
  const match = /^cloud-account-viewer:(.+)$/.exec(text);
  if (match?.[1] !== undefined) {
    if (match[1] === 'all') return { role: 'cloud-account-viewer', accounts: 'all' };
    const ids = match[1]
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== '');
    if (ids.length > 0) return { role: 'cloud-account-viewer', accounts: ids };
  }
  throw new Error(`"${value}" is not a role: use global-admin, global-viewer, cloud-account-viewer:all or cloud-account-viewer:ID[,ID…]`);
}

/** Formats grants the way the CLI accepts them. */
export function formatGrants(grants: readonly Grant[]): string {
  return grants.map((g) => (g.role === 'cloud-account-viewer' ? `${g.role}:${g.accounts === 'all' ? 'all' : g.accounts.join(',')}` : g.role)).join(' ');
}
