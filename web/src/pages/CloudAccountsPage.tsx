/** Main Menu > Cloud Accounts: the monitored accounts and the credentials that connect them. */
import { useMemo, useState, type FormEvent } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Button as AriaButton, Cell, Column, Form, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { api, call } from '../api/client';
import { ApiError, messageFor } from '../api/errors';
import type { CloudAccount, CloudAccountQuery, CreateCredentialBody, Credential } from '../api/types';
import { useSession } from '../auth/session';
import { PageHeader } from '../components/Layout';
import { Pager } from '../components/Pager';
import { Banner, Button, Icon, InfoTip, RowActions, Select, TextField, Window } from '../components/ui';
import { formatDateTime } from '../lib/format';
import { offered, useUrlPages, useUrlState } from '../lib/url-state';
import { ACCOUNT_ID_LABELS, STATUS_TITLES, VENDOR_FILTERS, VENDOR_TITLES, VENDORS } from '../lib/vendors';

type Vendor = CloudAccount['vendor'];
const VENDOR_OPTIONS = VENDORS.map((v) => ({ id: v, label: VENDOR_TITLES[v] }));
const SECRET_FIELDS: Record<Vendor, { id: keyof CreateCredentialBody['secret']; label: string; multiline?: boolean }[]> = {
  aws: [
    { id: 'accessKeyId', label: 'Access key ID' },
    { id: 'secretAccessKey', label: 'Secret access key' },
  ],
  azure: [
    { id: 'tenantId', label: 'Tenant ID' },
    { id: 'applicationId', label: 'Application ID' },
    { id: 'applicationSecret', label: 'Application secret' },
  ],
  gcp: [{ id: 'serviceAccountKey', label: 'Service account JSON key', multiline: true }],
};
const STATUS_FILTERS = [{ id: 'any', label: 'Any status' }, ...Object.entries(STATUS_TITLES).map(([id, label]) => ({ id, label }))];
const LIST_DEFAULTS = { vendor: 'any', status: 'any' } as const;
const STATUS_BADGE: Record<CloudAccount['status'], string> = { connected: 'badge-active', 'connected-with-warnings': 'badge-expiring', error: 'badge-expired' };

export function useCredentials(enabled: boolean) {
  return useQuery({
    queryKey: ['credentials'],
    enabled,
    queryFn: async () => {
      const items: Credential[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 20; i++) {
        const page = await call(api.GET('/api/v1/credentials', { params: { query: { limit: 200, cursor } } }));
        items.push(...page.items);
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      return items;
    },
  });
}

function AccountForm({
  editing,
  credentials,
  onClose,
  onDone,
}: {
  editing?: CloudAccount;
  credentials: Credential[];
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [vendor, setVendor] = useState<Vendor>(editing?.vendor ?? 'aws');
  const [displayName, setDisplayName] = useState(editing?.displayName ?? '');
  const [externalId, setExternalId] = useState(editing?.externalId ?? '');
  const [credentialId, setCredentialId] = useState(editing?.credentialId ?? 'none');
  const [errors, setErrors] = useState<{ displayName?: string; externalId?: string; form?: string }>({});
  const save = useMutation({
    mutationFn: async () => {
      const body = { displayName: displayName.trim(), externalId: externalId.trim(), credentialId: credentialId === 'none' ? null : credentialId };
      if (editing) return call(api.PATCH('/api/v1/cloud-accounts/{id}', { params: { path: { id: editing.id } }, body }));
      return call(api.POST('/api/v1/cloud-accounts', { body: { vendor, ...body } }));
    },
    onSuccess: (account) => onDone(`${account.displayName} was ${editing ? 'saved' : 'added'}.`),
    onError: (error) => {
      const fields = error instanceof ApiError ? { displayName: error.fieldError('/displayName'), externalId: error.fieldError('/externalId') } : {};
      if (fields.displayName || fields.externalId) {
        setErrors(fields);
      } else setErrors({ form: messageFor(error) });
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    const found = {
      displayName: displayName.trim() ? undefined : 'Enter a display name.',
      externalId: externalId.trim() ? undefined : `Enter the ${ACCOUNT_ID_LABELS[vendor]}.`,
    };
    setErrors(found);
    if (!found.displayName && !found.externalId) save.mutate();
  }
  const credentialOptions = [{ id: 'none', label: 'None' }, ...credentials.filter((c) => c.vendor === vendor).map((c) => ({ id: c.id, label: c.displayName }))];
  return (
    <Window title={editing ? 'Edit Cloud Account' : 'Add Cloud Account'} isOpen onOpenChange={(o) => !o && onClose()}>
      <Form onSubmit={submit} className="dialog-form" validationBehavior="aria">
        <div className="dialog-body">
          {errors.form && <Banner>{errors.form}</Banner>}
          <Select
            label="Vendor"
            options={VENDOR_OPTIONS}
            value={vendor}
            onChange={(v) => {
              setVendor(v as Vendor);
              setCredentialId('none');
            }}
            isDisabled={editing !== undefined}
          />
          <TextField label="Display name" value={displayName} onChange={setDisplayName} error={errors.displayName} autoFocus />
          <TextField label={ACCOUNT_ID_LABELS[vendor]} value={externalId} onChange={setExternalId} error={errors.externalId} />
          <Select
            label="Credential"
            options={credentialOptions}
            value={credentialId}
            onChange={setCredentialId}
            description="The credential Tessera connects with; credentials are managed below the accounts."
          />
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" isDisabled={save.isPending}>
            {editing ? 'Save' : 'Add'}
          </Button>
        </footer>
      </Form>
    </Window>
  );
}

export function CredentialForm({ onClose, onDone }: { onClose: () => void; onDone: (message: string) => void }) {
  const [vendor, setVendor] = useState<Vendor>('aws');
  const [displayName, setDisplayName] = useState('');
  const [secret, setSecret] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | undefined>();
  const save = useMutation({
    mutationFn: () => call(api.POST('/api/v1/credentials', { body: { vendor, displayName: displayName.trim(), secret } })),
    onSuccess: (c) => onDone(`The credential ${c.displayName} was added.`),
    onError: (e) => setError(e instanceof ApiError && e.code === 'validation_failed' && e.problem.detail ? `${messageFor(e)} (${e.problem.detail})` : messageFor(e)),
  });
  return (
    <Window title="Add Credential" isOpen onOpenChange={(o) => !o && onClose()}>
      <Form
        validationBehavior="aria"
        onSubmit={(e) => {
          e.preventDefault();
          if (displayName.trim()) save.mutate();
          else setError('Enter a display name.');
        }}
        className="dialog-form"
      >
        <div className="dialog-body">
          {error && <Banner>{error}</Banner>}
          <p className="lead">Secrets are encrypted at rest and never shown again, not even to Global Admins.</p>
          <Select
            label="Vendor"
            options={VENDOR_OPTIONS}
            value={vendor}
            onChange={(v) => {
              setVendor(v as Vendor);
              setSecret({});
            }}
          />
          <TextField label="Display name" value={displayName} onChange={setDisplayName} />
          {SECRET_FIELDS[vendor].map((f) => (
            <TextField
              key={f.id}
              label={f.label}
              type={f.multiline ? 'text' : 'password'}
              autoComplete="off"
              value={secret[f.id] ?? ''}
              onChange={(v) => setSecret({ ...secret, [f.id]: v })}
            />
          ))}
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" isDisabled={save.isPending}>
            Add
          </Button>
        </footer>
      </Form>
    </Window>
  );
}

type Dialog =
  | { kind: 'account'; editing?: CloudAccount }
  | { kind: 'credential' }
  | { kind: 'remove-account'; account: CloudAccount }
  | { kind: 'remove-credential'; credential: Credential }
  | null;

export function CloudAccountsPage() {
  const { may } = useSession();
  const canWrite = may('cloud-accounts:write');
  const canCredentials = may('credentials:read');
  const queries = useQueryClient();
  const [filters, setFilters] = useUrlState(LIST_DEFAULTS);
  const vendor = offered(filters.vendor, VENDOR_FILTERS);
  const status = offered(filters.status, STATUS_FILTERS);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const pages = useUrlPages();
  const query: CloudAccountQuery = {
    limit: pages.size,
    cursor: pages.cursor,
    ...(vendor !== 'any' ? { vendor: vendor as Vendor } : {}),
    ...(status !== 'any' ? { status: status as CloudAccount['status'] } : {}),
  };
  const list = useQuery({
    queryKey: ['cloud-accounts', query],
    queryFn: () => call(api.GET('/api/v1/cloud-accounts', { params: { query } })),
    placeholderData: keepPreviousData,
  });
  const credentials = useCredentials(canCredentials);
  const credentialNames = useMemo(() => new Map((credentials.data ?? []).map((c) => [c.id, c.displayName])), [credentials.data]);
  const done = (message: string) => {
    setDialog(null);
    setNotice(message);
    void queries.invalidateQueries({ queryKey: ['cloud-accounts'] });
    void queries.invalidateQueries({ queryKey: ['credentials'] });
  };
  const removeAccount = useMutation({
    mutationFn: (a: CloudAccount) => call(api.DELETE('/api/v1/cloud-accounts/{id}', { params: { path: { id: a.id } } })),
    onSuccess: (_r, a) => done(`${a.displayName} was removed, and from every key's and user's grants.`),
  });
  const removeCredential = useMutation({
    mutationFn: (c: Credential) => call(api.DELETE('/api/v1/credentials/{id}', { params: { path: { id: c.id } } })),
    onSuccess: (_r, c) => done(`The credential ${c.displayName} was removed.`),
  });
  const items = list.data?.items ?? [];

  return (
    <>
      <PageHeader
        title="Cloud Accounts"
        description="The public cloud accounts Tessera monitors, with the state of their connection."
        actions={
          canWrite ? (
            <Button variant="primary" onPress={() => setDialog({ kind: 'account' })}>
              <Icon name="plus" /> Add cloud account
            </Button>
          ) : undefined
        }
      />
      {notice && <Banner tone="success">{notice}</Banner>}
      <div className="filters" role="search" aria-label="Filter cloud accounts">
        <Select label="Vendor" options={VENDOR_FILTERS} value={vendor} onChange={(value) => setFilters({ vendor: value })} className="filter" />
        <Select label="Status" options={STATUS_FILTERS} value={status} onChange={(value) => setFilters({ status: value })} className="filter" />
      </div>
      {list.isError && <Banner>{messageFor(list.error)}</Banner>}
      <div className="table-wrap">
        <Table aria-label="Cloud accounts" className="table stack-on-narrow">
          <TableHeader>
            <Column isRowHeader>Name</Column>
            <Column>Vendor</Column>
            <Column>Account ID</Column>
            <Column>Status</Column>
            <Column>Credential</Column>
            <Column>Added</Column>
            <Column className="col-actions">
              <span className="visually-hidden">Actions</span>
            </Column>
          </TableHeader>
          <TableBody
            items={items}
            dependencies={[credentialNames, credentials.isPending, canWrite, canCredentials]}
            renderEmptyState={() => <div className="table-empty">{list.isPending ? 'Loading cloud accounts…' : 'No cloud accounts to show.'}</div>}
          >
            {(a) => (
              <Row id={a.id} className="row">
                <Cell className="cell-name" data-label="Name">
                  {a.displayName}
                </Cell>
                <Cell data-label="Vendor">{VENDOR_TITLES[a.vendor]}</Cell>
                <Cell data-label="Account ID">
                  <code>{a.externalId}</code>
                </Cell>
                <Cell className="nowrap" data-label="Status">
                  <span className={`badge ${STATUS_BADGE[a.status]}`}>{STATUS_TITLES[a.status]}</span>
                  {a.statusDetail && <InfoTip label={`Status detail of ${a.displayName}`}>{a.statusDetail}</InfoTip>}
                </Cell>
                <Cell data-label="Credential">
                  {a.credentialId ? (
                    canCredentials ? (
                      (credentialNames.get(a.credentialId) ?? (credentials.isPending ? '…' : 'Unknown credential'))
                    ) : (
                      'Assigned'
                    )
                  ) : (
                    <span className="muted">None</span>
                  )}
                </Cell>
                <Cell className="nowrap" data-label="Added">
                  {formatDateTime(a.createdAt)}
                </Cell>
                <Cell className="cell-actions">
                  {canWrite && (
                    <RowActions
                      label={`Actions for ${a.displayName}`}
                      actions={[
                        { id: 'edit', label: 'Edit cloud account' },
                        { id: 'remove', label: 'Remove cloud account', danger: true },
                      ]}
                      onAction={(k) => setDialog(k === 'edit' ? { kind: 'account', editing: a } : { kind: 'remove-account', account: a })}
                    />
                  )}
                </Cell>
              </Row>
            )}
          </TableBody>
        </Table>
        <Pager pages={pages} shown={items.length} nextCursor={list.data?.nextCursor} noun="accounts" />
      </div>

      {canCredentials && (
        <section className="section" aria-labelledby="credentials-title">
          <div className="page-header">
            <div>
              <h2 id="credentials-title">Credentials</h2>
              <p className="page-description">Stored separately from the accounts; one credential can serve several accounts of its vendor.</p>
            </div>
            {may('credentials:write') && (
              <Button onPress={() => setDialog({ kind: 'credential' })}>
                <Icon name="plus" /> Add credential
              </Button>
            )}
          </div>
          <div className="table-wrap">
            <Table aria-label="Credentials" className="table stack-on-narrow">
              <TableHeader>
                <Column isRowHeader>Name</Column>
                <Column>Vendor</Column>
                <Column>Secret fields set</Column>
                <Column>Updated</Column>
                <Column className="col-actions">
                  <span className="visually-hidden">Actions</span>
                </Column>
              </TableHeader>
              <TableBody
                items={credentials.data ?? []}
                renderEmptyState={() => <div className="table-empty">{credentials.isPending ? 'Loading credentials…' : 'No credentials yet.'}</div>}
              >
                {(c) => (
                  <Row id={c.id} className="row">
                    <Cell className="cell-name" data-label="Name">
                      {c.displayName}
                    </Cell>
                    <Cell data-label="Vendor">{VENDOR_TITLES[c.vendor]}</Cell>
                    <Cell data-label="Secret fields set">
                      {Object.entries(c.secret)
                        .filter(([, set]) => set)
                        .map(([k]) => k)
                        .join(', ') || <span className="muted">None</span>}
                    </Cell>
                    <Cell data-label="Updated">{formatDateTime(c.updatedAt)}</Cell>
                    <Cell className="cell-actions">
                      {may('credentials:write') && (
                        <AriaButton
                          className="icon-btn row-actions"
                          aria-label={`Remove credential ${c.displayName}`}
                          onPress={() => setDialog({ kind: 'remove-credential', credential: c })}
                        >
                          <Icon name="close" />
                        </AriaButton>
                      )}
                    </Cell>
                  </Row>
                )}
              </TableBody>
            </Table>
          </div>
        </section>
      )}

      {dialog?.kind === 'account' && <AccountForm editing={dialog.editing} credentials={credentials.data ?? []} onClose={() => setDialog(null)} onDone={done} />}
      {dialog?.kind === 'credential' && <CredentialForm onClose={() => setDialog(null)} onDone={done} />}
      {dialog?.kind === 'remove-account' && (
        <Window title="Remove cloud account" isOpen alert size="sm" onOpenChange={(o) => !o && setDialog(null)}>
          <div className="dialog-body">
            <p>
              Remove <strong>{dialog.account.displayName}</strong> and its assets? Keys and users that were granted this account lose it at once.
            </p>
            {removeAccount.isError && <Banner>{messageFor(removeAccount.error)}</Banner>}
          </div>
          <footer className="dialog-footer">
            <Button onPress={() => setDialog(null)}>Cancel</Button>
            <Button variant="danger" onPress={() => removeAccount.mutate(dialog.account)}>
              Remove
            </Button>
          </footer>
        </Window>
      )}
      {dialog?.kind === 'remove-credential' && (
        <Window title="Remove credential" isOpen alert size="sm" onOpenChange={(o) => !o && setDialog(null)}>
          <div className="dialog-body">
            <p>
              Remove the credential <strong>{dialog.credential.displayName}</strong>?
            </p>
            {removeCredential.isError && <Banner>{messageFor(removeCredential.error)}</Banner>}
          </div>
          <footer className="dialog-footer">
            <Button onPress={() => setDialog(null)}>Cancel</Button>
            <Button variant="danger" onPress={() => removeCredential.mutate(dialog.credential)}>
              Remove
            </Button>
          </footer>
        </Window>
      )}
    </>
  );
}
