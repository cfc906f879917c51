/** Main Menu > Credentials: the cloud credentials Tessera connects with; secrets are never shown. */
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { messageFor } from '../../api/errors';
import type { Credential } from '../../api/types';
import { useSession } from '../../auth/session';
import { EmptyState } from '../../components/EmptyState';
import { PageHeader } from '../../components/Layout';
import { Banner, Button, Icon, Select } from '../../components/ui';
import { formatDateTime } from '../../lib/format';
import { offered, useUrlState } from '../../lib/url-state';
import { VENDOR_FILTERS, VENDOR_TITLES } from '../../lib/vendors';
import { CredentialForm, useCredentials } from '../CloudAccountsPage';

const FILTER_DEFAULTS = { vendor: 'any' } as const;

const secretFields = (c: Credential) =>
  Object.entries(c.secret)
    .filter(([, set]) => set)
    .map(([field]) => field)
    .join(', ');

export function CredentialsPage() {
  const { may } = useSession();
  const queries = useQueryClient();
  const credentials = useCredentials(true);
  const [filters, setFilters] = useUrlState(FILTER_DEFAULTS);
  const vendor = offered(filters.vendor, VENDOR_FILTERS);
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string | undefined>();
  const all = credentials.data ?? [];
  const items = vendor === 'any' ? all : all.filter((c) => c.vendor === vendor);
  const add = may('credentials:write') ? (
    <Button variant="primary" onPress={() => setAdding(true)}>
      <Icon name="plus" /> Add credential
    </Button>
  ) : undefined;

  return (
    <>
      <PageHeader
        title="Credentials"
        description="The read-only cloud credentials Tessera connects to your accounts with. Their secrets are stored encrypted and never shown again; one credential can serve several accounts of its vendor."
        actions={add}
      />
      {notice !== undefined && <Banner tone="success">{notice}</Banner>}
      {credentials.isError && <Banner>{messageFor(credentials.error)}</Banner>}
      {credentials.data !== undefined && all.length === 0 ? (
        <EmptyState title="No credentials yet">
          <p>
            Add the read-only credential of an AWS, Azure or Google Cloud account, then add the account under Cloud Accounts. To look around first, run{' '}
            <code>npx tessera demo</code> in the server's folder: it adds demo accounts with their credentials.
          </p>
          {add}
        </EmptyState>
      ) : (
        <>
          <div className="filters" role="search" aria-label="Filter credentials">
            <Select label="Vendor" options={VENDOR_FILTERS} value={vendor} onChange={(v) => setFilters({ vendor: v })} className="filter" />
          </div>
          <div className="table-wrap">
            <Table aria-label="Credentials" className="table stack-on-narrow">
              <TableHeader>
                <Column isRowHeader>Name</Column>
                <Column>Vendor</Column>
                <Column>Secret fields set</Column>
                <Column>Updated</Column>
              </TableHeader>
              <TableBody
                items={items}
                renderEmptyState={() => (
                  <div className="table-empty" role="status">
                    {credentials.isPending ? 'Loading credentials…' : 'No credentials of this vendor.'}
                  </div>
                )}
              >
                {(c) => (
                  <Row id={c.id} className="row">
                    <Cell className="cell-name" data-label="Name">
                      {c.displayName}
                    </Cell>
                    <Cell data-label="Vendor">{VENDOR_TITLES[c.vendor]}</Cell>
                    <Cell data-label="Secret fields set">{secretFields(c) || <span className="muted">None</span>}</Cell>
                    <Cell data-label="Updated">{formatDateTime(c.updatedAt)}</Cell>
                  </Row>
                )}
              </TableBody>
            </Table>
          </div>
        </>
      )}
      {adding && (
        <CredentialForm
          onClose={() => setAdding(false)}
          onDone={(message) => {
            setAdding(false);
            setNotice(message);
            void queries.invalidateQueries({ queryKey: ['credentials'] });
          }}
        />
      )}
    </>
  );
}
