/**
 * The role blocks of the Add Access Key window (and of the user invitation form): "Role",
 * "Role 2", … each with an Assigned Role select and, for Cloud Account Viewer, the accounts.
 */
import { Button as AriaButton } from 'react-aria-components';
import { MAX_ROLES } from '../../../src/shared/limits.ts';
import type { Grant } from '../api/types';
import { useCloudAccounts } from '../api/queries';
import { ROLE_DESCRIPTIONS, ROLE_TITLES, ROLES, type Role } from '../lib/roles';
import { Button, Icon, InfoTip, MultiSelect, Select } from './ui';

export const ALL_ACCOUNTS = '__all__';

export interface RoleDraft {
  uid: number;
  role: Role | null;
  /** Account ids, or [ALL_ACCOUNTS]. */
  accounts: string[];
}

let nextUid = 1;
export const newRoleDraft = (role: Role | null = null, accounts: string[] = []): RoleDraft => ({ uid: nextUid++, role, accounts });

export function draftsFromGrants(grants: readonly Grant[]): RoleDraft[] {
  return grants.map((g) => newRoleDraft(g.role, g.role === 'cloud-account-viewer' ? (g.accounts === 'all' ? [ALL_ACCOUNTS] : [...g.accounts]) : []));
}

export interface RoleErrors {
  role?: string;
  accounts?: string;
}

/** Checks the drafts; an empty object per block means it is fine. */
export function validateRoles(drafts: readonly RoleDraft[]): RoleErrors[] {
  return drafts.map((d) => {
    if (d.role === null) return { role: 'Select a role.' };
    if (d.role === 'cloud-account-viewer' && d.accounts.length === 0) return { accounts: 'Select at least one account, or All accounts.' };
    return {};
  });
}

export function grantsFromDrafts(drafts: readonly RoleDraft[]): Grant[] {
  return drafts.map((d): Grant => {
    if (d.role === 'cloud-account-viewer') return { role: d.role, accounts: d.accounts.includes(ALL_ACCOUNTS) ? 'all' : d.accounts };
    return { role: d.role as 'global-admin' | 'global-viewer' };
  });
}

const ROLE_OPTIONS = ROLES.map((id) => ({ id, label: ROLE_TITLES[id], description: ROLE_DESCRIPTIONS[id] }));

export function RoleBlocks({ drafts, onChange, errors }: { drafts: RoleDraft[]; onChange: (drafts: RoleDraft[]) => void; errors: RoleErrors[] | undefined }) {
  const needsAccounts = drafts.some((d) => d.role === 'cloud-account-viewer');
  const accounts = useCloudAccounts(needsAccounts);
  const accountOptions = [{ id: ALL_ACCOUNTS, label: 'All accounts' }, ...(accounts.data ?? []).map((a) => ({ id: a.id, label: a.displayName }))];
  const update = (uid: number, change: Partial<RoleDraft>) => onChange(drafts.map((d) => (d.uid === uid ? { ...d, ...change } : d)));

  return (
    <div className="role-blocks">
      {drafts.map((draft, index) => {
        const title = index === 0 ? 'Role' : `Role ${index + 1}`;
        const error = errors?.[index];
        return (
          <section key={draft.uid} className="role-block" aria-labelledby={`role-title-${draft.uid}`}>
            <div className="role-block-head">
              <h3 id={`role-title-${draft.uid}`}>{title}</h3>
              {drafts.length > 1 && (
                <AriaButton
                  className="icon-btn"
                  aria-label={index === 0 ? 'Remove role' : `Remove role ${index + 1}`}
                  onPress={() => onChange(drafts.filter((d) => d.uid !== draft.uid))}
                >
                  <Icon name="close" />
                </AriaButton>
              )}
            </div>
            <Select
              label="Assigned Role"
              placeholder="Select a role"
              // A role already held in another block is not offered again: one grant per role.
              options={ROLE_OPTIONS.filter((o) => o.id === draft.role || !drafts.some((d) => d.uid !== draft.uid && d.role === o.id))}
              value={draft.role}
              onChange={(role) => update(draft.uid, { role: role as Role, accounts: role === 'cloud-account-viewer' ? draft.accounts : [] })}
              error={error?.role}
              labelExtra={draft.role !== null ? <InfoTip label={`What ${ROLE_TITLES[draft.role]} grants`}>{ROLE_DESCRIPTIONS[draft.role]}</InfoTip> : undefined}
            />
            {draft.role === 'cloud-account-viewer' && (
              <MultiSelect
                label="Public Cloud Accounts Access"
                options={accountOptions}
                value={draft.accounts}
                placeholder="No accounts selected"
                description={accounts.isError ? 'The cloud accounts could not be loaded; All accounts is still available.' : 'Select one or more accounts'}
                error={error?.accounts}
                onChange={(next) => {
                  const added = next.filter((id) => !draft.accounts.includes(id));
                  update(draft.uid, { accounts: added.includes(ALL_ACCOUNTS) ? [ALL_ACCOUNTS] : next.filter((id) => id !== ALL_ACCOUNTS) });
                }}
              />
            )}
          </section>
        );
      })}
      <Button variant="quiet" className="add-role" onPress={() => onChange([...drafts, newRoleDraft()])} isDisabled={drafts.length >= Math.min(MAX_ROLES, ROLES.length)}>
        <Icon name="plus" /> Add another role
      </Button>
    </div>
  );
}
