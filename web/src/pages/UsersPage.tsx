/** Main Menu > Configuration > Users: invite people, manage their roles, resend or revoke invitations. */
import { useState, type FormEvent } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Cell, Column, Form, Input, Label, Row, SearchField, Table, TableBody, TableHeader } from 'react-aria-components';
import { DISPLAY_NAME_MAX_LENGTH, visibleLength } from '../../../src/shared/limits.ts';
import { api, call } from '../api/client';
import { ApiError, messageFor } from '../api/errors';
import { useAccountNames } from '../api/queries';
import type { InvitedUser, ManagedUser, UserQuery } from '../api/types';
import { CopyButton } from '../components/CopyButton';
import { PageHeader } from '../components/Layout';
import { Pager } from '../components/Pager';
import { draftsFromGrants, grantsFromDrafts, newRoleDraft, RoleBlocks, validateRoles, type RoleDraft } from '../components/RoleBlocks';
import { Banner, Button, Icon, RowActions, Select, TextField, Window } from '../components/ui';
import { useSession } from '../auth/session';
import { formatDateTime, relative } from '../lib/format';
import { grantLabel } from '../lib/roles';
import { offered, useTypedFilter, useUrlPages, useUrlState } from '../lib/url-state';

const STATUS_FILTERS = [
  { id: 'any', label: 'Any status' },
  { id: 'active', label: 'Active' },
  { id: 'pending', label: 'Pending invitation' },
];
const LIST_DEFAULTS = { q: '', status: 'any' } as const;

type Dialog =
  | { kind: 'invite' }
  | { kind: 'edit'; user: ManagedUser }
  | { kind: 'delete'; user: ManagedUser }
  | { kind: 'link'; user: ManagedUser; url: string; expiresAt: string; fresh: boolean }
  | null;

function UserForm({
  editing,
  onClose,
  onInvited,
  onSaved,
}: {
  editing?: ManagedUser;
  onClose: () => void;
  onInvited: (user: InvitedUser) => void;
  onSaved: (user: ManagedUser) => void;
}) {
  const [email, setEmail] = useState(editing?.email ?? '');
  const [displayName, setDisplayName] = useState(editing?.displayName ?? '');
  const [drafts, setDrafts] = useState<RoleDraft[]>(() => (editing ? draftsFromGrants(editing.roles) : [newRoleDraft()]));
  const [checked, setChecked] = useState(false);
  const [serverError, setServerError] = useState<{ email?: string; displayName?: string; form?: string }>({});

  const emailError = !editing && checked && !/^[^\s@]+@[^\s@]+$/.test(email.trim()) ? 'Enter an email address.' : undefined;
  const nameTooLong = visibleLength(displayName) > DISPLAY_NAME_MAX_LENGTH;
  const nameError = checked && nameTooLong ? `Use at most ${DISPLAY_NAME_MAX_LENGTH} characters.` : undefined;
  const roleErrors = checked ? validateRoles(drafts) : undefined;
  const rolesInvalid = validateRoles(drafts).some((e) => e.role || e.accounts);

  const save = useMutation({
    mutationFn: async () => {
      const roles = grantsFromDrafts(drafts);
      const name = displayName.trim();
      if (editing) {
        return { saved: await call(api.PATCH('/api/v1/users/{id}', { params: { path: { id: editing.id } }, body: { roles, ...(name ? { displayName: name } : {}) } })) };
      }
      return { invited: await call(api.POST('/api/v1/users', { body: { email: email.trim(), roles, ...(name ? { displayName: name } : {}) } })) };
    },
    onSuccess: (r) => (r.invited ? onInvited(r.invited) : r.saved && onSaved(r.saved)),
    onError: (error) => {
      if (error instanceof ApiError && error.code === 'email_taken') return setServerError({ email: 'A user with this email already exists.' });
      const emailProblem = error instanceof ApiError ? error.fieldError('/email') : undefined;
      const displayNameProblem = error instanceof ApiError ? error.fieldError('/displayName') : undefined;
      if (emailProblem || displayNameProblem) {
        return setServerError({ email: emailProblem && `Email ${emailProblem}.`, displayName: displayNameProblem && `Display name ${displayNameProblem}.` });
      }
      setServerError({ form: messageFor(error) });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    setServerError({});
    const badEmail = !editing && !/^[^\s@]+@[^\s@]+$/.test(email.trim());
    if (badEmail || nameTooLong || rolesInvalid) return;
    save.mutate();
  }

  return (
    <Window title={editing ? 'Edit User' : 'Invite User'} isOpen onOpenChange={(open) => !open && !save.isPending && onClose()}>
      <Form onSubmit={submit} className="dialog-form" validationBehavior="aria">
        <div className="dialog-body">
          {serverError.form !== undefined && <Banner>{serverError.form}</Banner>}
          {editing?.primary && <Banner tone="info">This is the primary user: it cannot be deleted and keeps the Global Admin role.</Banner>}
          <TextField
            label="Email"
            type="email"
            value={email}
            onChange={setEmail}
            isReadOnly={editing !== undefined}
            autoFocus={!editing}
            description={editing ? 'The email cannot be changed.' : 'The person signs in with this email.'}
            error={emailError ?? serverError.email}
          />
          <TextField
            label="Display name"
            value={displayName}
            onChange={setDisplayName}
            error={nameError ?? serverError.displayName}
            description="Optional. Shown in the console and the audit log."
          />
          <RoleBlocks drafts={drafts} onChange={setDrafts} errors={roleErrors} />
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose} isDisabled={save.isPending}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" isDisabled={save.isPending}>
            {editing ? 'Save' : 'Invite'}
          </Button>
        </footer>
      </Form>
    </Window>
  );
}

export function UsersPage() {
  const queries = useQueryClient();
  const { user: me } = useSession();
  const [filters, setFilters] = useUrlState(LIST_DEFAULTS);
  const status = offered(filters.status, STATUS_FILTERS);
  const [q, setQ] = useTypedFilter(filters.q, (typed) => setFilters({ q: typed }));
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const accountNames = useAccountNames();
  const pages = useUrlPages();

  const query: UserQuery = {
    limit: pages.size,
    cursor: pages.cursor,
    ...(filters.q ? { q: filters.q } : {}),
    ...(status !== 'any' ? { status: status as UserQuery['status'] } : {}),
  };
  const list = useQuery({ queryKey: ['users', query], queryFn: () => call(api.GET('/api/v1/users', { params: { query } })), placeholderData: keepPreviousData });
  const refresh = () => void queries.invalidateQueries({ queryKey: ['users'] });

  const reinvite = useMutation({
    mutationFn: (user: ManagedUser) => call(api.POST('/api/v1/users/{id}/invitation', { params: { path: { id: user.id } } })),
    onSuccess: (result, user) => {
      setDialog({ kind: 'link', user, url: result.invitationUrl, expiresAt: result.invitationExpiresAt, fresh: false });
      refresh();
    },
    onError: (error) => setNotice(messageFor(error)),
  });
  const remove = useMutation({
    mutationFn: (user: ManagedUser) => call(api.DELETE('/api/v1/users/{id}', { params: { path: { id: user.id } } })),
    onSuccess: (_r, user) => {
      setDialog(null);
      setNotice(user.status === 'pending' ? `The invitation of ${user.email} was revoked.` : `The user ${user.email} was deleted.`);
      refresh();
    },
  });

  const items = list.data?.items ?? [];
  return (
    <>
      <PageHeader
        title="Users"
        description="People who sign in to the console. Invite them with a link; their roles decide what they see and do."
        actions={
          <Button variant="primary" onPress={() => setDialog({ kind: 'invite' })}>
            <Icon name="plus" /> Invite user
          </Button>
        }
      />
      {notice !== undefined && <Banner tone="success">{notice}</Banner>}
      <div className="filters" role="search" aria-label="Filter users">
        <SearchField value={q} onChange={setQ} className="field search">
          <Label>Search</Label>
          <div className="search-box">
            <Icon name="search" />
            <Input placeholder="Email or name" />
          </div>
        </SearchField>
        <Select label="Status" options={STATUS_FILTERS} value={status} onChange={(value) => setFilters({ status: value })} className="filter" />
      </div>
      {list.isError && <Banner>{messageFor(list.error)}</Banner>}
      <div className="table-wrap">
        <Table aria-label="Users" className="table stack-on-narrow">
          <TableHeader>
            <Column isRowHeader>Name</Column>
            <Column>Email</Column>
            <Column>Roles</Column>
            <Column>Status</Column>
            <Column>Last sign-in</Column>
            <Column>Created</Column>
            <Column className="col-actions">
              <span className="visually-hidden">Actions</span>
            </Column>
          </TableHeader>
          <TableBody
            items={items}
            dependencies={[accountNames, me]}
            renderEmptyState={() => <div className="table-empty">{list.isPending ? 'Loading users…' : 'No users match.'}</div>}
          >
            {(user) => (
              <Row id={user.id} className="row">
                <Cell className="cell-name" data-label="Name">
                  {user.displayName || <span className="muted">—</span>} {user.primary && <span className="badge badge-info">Primary</span>}{' '}
                  {user.id === me?.id && <span className="badge badge-neutral">You</span>}
                </Cell>
                <Cell data-label="Email">{user.email}</Cell>
                <Cell data-label="Roles">
                  <ul className="role-list nowrap">
                    {user.roles.map((g) => (
                      <li key={g.role}>{grantLabel(g, accountNames)}</li>
                    ))}
                  </ul>
                </Cell>
                <Cell data-label="Status">
                  {user.status === 'active' ? (
                    <span className="badge badge-active">Active</span>
                  ) : (
                    <span
                      className="badge badge-expiring"
                      title={user.invitationExpiresAt ? `Invitation expires ${formatDateTime(user.invitationExpiresAt)}` : undefined}
                    >
                      {user.invitationExpiresAt && new Date(user.invitationExpiresAt) < new Date() ? 'Invitation expired' : 'Pending'}
                    </span>
                  )}
                </Cell>
                <Cell data-label="Last sign-in">
                  {user.lastSignInAt ? <span title={formatDateTime(user.lastSignInAt)}>{relative(user.lastSignInAt)}</span> : <span className="muted">Never</span>}
                </Cell>
                <Cell className="nowrap" data-label="Created">
                  {formatDateTime(user.createdAt)}
                </Cell>
                <Cell className="cell-actions">
                  <RowActions
                    label={`Actions for ${user.email}`}
                    actions={[
                      { id: 'edit', label: 'Edit user' },
                      ...(user.status === 'pending'
                        ? [
                            { id: 'reinvite', label: 'New invitation link' },
                            { id: 'delete', label: 'Revoke invitation', danger: true },
                          ]
                        : !user.primary && user.id !== me?.id
                          ? [{ id: 'delete', label: 'Delete user', danger: true }]
                          : []),
                    ]}
                    onAction={(a) => {
                      if (a === 'edit') setDialog({ kind: 'edit', user });
                      else if (a === 'reinvite') reinvite.mutate(user);
                      else setDialog({ kind: 'delete', user });
                    }}
                  />
                </Cell>
              </Row>
            )}
          </TableBody>
        </Table>
        <Pager pages={pages} shown={items.length} nextCursor={list.data?.nextCursor} noun="users" />
      </div>

      {(dialog?.kind === 'invite' || dialog?.kind === 'edit') && (
        <UserForm
          editing={dialog.kind === 'edit' ? dialog.user : undefined}
          onClose={() => setDialog(null)}
          onInvited={(user) => {
            setNotice(undefined);
            setDialog({ kind: 'link', user, url: user.invitationUrl, expiresAt: user.invitationExpiresAt, fresh: true });
            refresh();
          }}
          onSaved={(user) => {
            setDialog(null);
            setNotice(`${user.email} was saved.`);
            refresh();
          }}
        />
      )}
      {dialog?.kind === 'link' && (
        <Window title="Invitation Link" isOpen onOpenChange={(open) => !open && setDialog(null)}>
          <div className="dialog-body">
            <p>
              {dialog.fresh ? (
                <>
                  An invitation for <strong>{dialog.user.email}</strong> was created.
                </>
              ) : (
                <>
                  A new invitation link for <strong>{dialog.user.email}</strong> was made; the previous link no longer works.
                </>
              )}{' '}
              Send this link to them: it works once, until {formatDateTime(dialog.expiresAt)}. It is shown only now.
            </p>
            <dl className="secret-rows">
              <div className="secret-row">
                <dt>Invitation link</dt>
                <dd>
                  <code className="secret-value token" data-testid="invitation-url">
                    {dialog.url}
                  </code>
                </dd>
                <CopyButton value={dialog.url} label="Copy invitation link" />
              </div>
            </dl>
          </div>
          <footer className="dialog-footer">
            <Button variant="primary" onPress={() => setDialog(null)}>
              Close
            </Button>
          </footer>
        </Window>
      )}
      {dialog?.kind === 'delete' && (
        <Window title={dialog.user.status === 'pending' ? 'Revoke invitation' : 'Delete user'} isOpen alert size="sm" onOpenChange={(open) => !open && setDialog(null)}>
          <div className="dialog-body">
            <p>
              {dialog.user.status === 'pending' ? (
                <>
                  Revoke the invitation of <strong>{dialog.user.email}</strong>? The link stops working and the user is removed.
                </>
              ) : (
                <>
                  Delete the user <strong>{dialog.user.email}</strong>? They are signed out at once and cannot sign in again.
                </>
              )}
            </p>
            {remove.isError && <Banner>{messageFor(remove.error)}</Banner>}
          </div>
          <footer className="dialog-footer">
            <Button onPress={() => setDialog(null)}>Cancel</Button>
            <Button variant="danger" onPress={() => remove.mutate(dialog.user)} isDisabled={remove.isPending}>
              {dialog.user.status === 'pending' ? 'Revoke' : 'Delete'}
            </Button>
          </footer>
        </Window>
      )}
    </>
  );
}
