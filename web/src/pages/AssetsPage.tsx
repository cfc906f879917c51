/** Main Menu > Assets: the inventory of cloud resources, and one asset's details at /assets/<id>. */
import { useMemo } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Cell, Column, Input, Label, Row, SearchField, Table, TableBody, TableHeader } from 'react-aria-components';
import { Link, useParams } from 'react-router';
import { api, call } from '../api/client';
import { ApiError, messageFor } from '../api/errors';
import { useCloudAccounts } from '../api/queries';
import type { Asset, AssetQuery } from '../api/types';
import { PageHeader } from '../components/Layout';
import { Pager } from '../components/Pager';
import { Banner, Icon, Select } from '../components/ui';
import { formatDateTime } from '../lib/format';
import { offered, useListAddress, useOpenFromList, useTypedFilter, useUrlPages, useUrlState } from '../lib/url-state';
import { ASSET_TYPE_TITLES, EXPOSURE_TITLES, VENDOR_FILTERS, VENDOR_TITLES } from '../lib/vendors';

const LIST_DEFAULTS = { name: '', account: 'any', vendor: 'any', type: 'any', exposure: 'any' } as const;
const TYPE_FILTERS = [{ id: 'any', label: 'Any type' }, ...Object.entries(ASSET_TYPE_TITLES).map(([id, label]) => ({ id, label }))];
const EXPOSURE_FILTERS = [{ id: 'any', label: 'Any exposure' }, ...Object.entries(EXPOSURE_TITLES).map(([id, label]) => ({ id, label }))];

const SEVERITY_BADGE = { critical: 'badge-expired', high: 'badge-expired', medium: 'badge-expiring', low: 'badge-neutral' } as const;

function AssetDetails({ id }: { id: string }) {
  const asset = useQuery({ queryKey: ['asset', id], queryFn: () => call(api.GET('/api/v1/assets/{id}', { params: { path: { id } } })) });
  const network = useQuery({
    queryKey: ['asset', id, 'network'],
    queryFn: () => call(api.GET('/api/v1/assets/{id}/network', { params: { path: { id } } })),
    retry: false,
  });
  const accounts = useCloudAccounts();
  const listAddress = useListAddress('/assets');
  const a = asset.data;
  const accountName = a ? (accounts.data?.find((x) => x.id === a.accountId)?.displayName ?? a.accountId) : '';
  return (
    <>
      <p>
        <Link to={listAddress}>← All assets</Link>
      </p>
      {asset.isError && <Banner>{messageFor(asset.error)}</Banner>}
      {a && (
        <>
          <PageHeader title={a.name} description={`${ASSET_TYPE_TITLES[a.type]} in ${accountName} (${VENDOR_TITLES[a.vendor]}, ${a.region})`} />
          <div className="two-col">
            <section className="panel" aria-labelledby="asset-overview">
              <h2 id="asset-overview">Overview</h2>
              <dl className="kv">
                <dt>Exposure</dt>
                <dd>
                  <span className={`badge ${a.exposure === 'internet-exposed' ? 'badge-expired' : 'badge-active'}`}>{EXPOSURE_TITLES[a.exposure]}</span>
                </dd>
                <dt>Resource ID</dt>
                <dd>
                  <code>{a.resourceId}</code>
                </dd>
                <dt>Cloud account</dt>
                <dd>{accountName}</dd>
                <dt>Region</dt>
                <dd>{a.region}</dd>
                <dt>Updated</dt>
                <dd>{formatDateTime(a.updatedAt)}</dd>
              </dl>
              <h3 className="subhead">Tags</h3>
              {Object.keys(a.tags).length === 0 ? (
                <p className="muted">No tags.</p>
              ) : (
                <ul className="tags" aria-label="Tags">
                  {Object.entries(a.tags).map(([k, v]) => (
                    <li key={k} className="chip">
                      {v ? `${k}:${v}` : k}
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <section className="panel" aria-labelledby="asset-properties">
              <h2 id="asset-properties">Properties</h2>
              <dl className="kv">
                {Object.entries(a.properties).map(([k, v]) => (
                  <div key={k} className="kv-row">
                    <dt>{k}</dt>
                    <dd>{v === null ? '—' : String(v)}</dd>
                  </div>
                ))}
              </dl>
            </section>
          </div>
          <section className="panel" aria-labelledby="asset-controls">
            <h2 id="asset-controls">Security controls</h2>
            {a.securityControls.length === 0 ? (
              <p className="muted">None reported.</p>
            ) : (
              <dl className="kv">
                {a.securityControls.map((c) => (
                  <div key={c.name} className="kv-row">
                    <dt>{c.name}</dt>
                    <dd>
                      {c.status}
                      {c.detail ? ` — ${c.detail}` : ''}
                    </dd>
                  </div>
                ))}
              </dl>
            )}
          </section>
          <section className="panel" aria-labelledby="asset-cves">
            <h2 id="asset-cves">CVEs</h2>
            {a.cves.length === 0 ? (
              <p className="muted">No CVE vulnerabilities recorded.</p>
            ) : (
              <Table aria-label="CVEs" className="table stack-on-narrow">
                <TableHeader>
                  <Column isRowHeader>CVE</Column>
                  <Column>Severity</Column>
                  <Column>CVSS</Column>
                  <Column>Description</Column>
                  <Column>Added</Column>
                </TableHeader>
                <TableBody items={a.cves}>
                  {(c) => (
                    <Row id={c.id}>
                      <Cell data-label="CVE">
                        <code>{c.id}</code>
                      </Cell>
                      <Cell data-label="Severity">
                        <span className={`badge ${SEVERITY_BADGE[c.severity]}`}>{c.severity}</span>
                      </Cell>
                      <Cell data-label="CVSS">{c.cvss}</Cell>
                      <Cell data-label="Description">{c.description}</Cell>
                      <Cell data-label="Added">{formatDateTime(c.addedAt)}</Cell>
                    </Row>
                  )}
                </TableBody>
              </Table>
            )}
          </section>
          <section className="panel" aria-labelledby="asset-network">
            <h2 id="asset-network">Network</h2>
            {network.isError &&
              (network.error instanceof ApiError && network.error.code === 'not_found' ? (
                <p className="muted">No network configuration for this kind of asset.</p>
              ) : (
                <Banner>{messageFor(network.error)}</Banner>
              ))}
            {network.data && (
              <>
                <dl className="kv">
                  <dt>Network</dt>
                  <dd>{network.data.networkId ?? '—'}</dd>
                  <dt>Subnet</dt>
                  <dd>{network.data.subnetId ?? '—'}</dd>
                  <dt>Private IPs</dt>
                  <dd>{network.data.privateIps.join(', ') || '—'}</dd>
                  <dt>Public IPs</dt>
                  <dd>{network.data.publicIps.join(', ') || '—'}</dd>
                </dl>
                {network.data.securityGroups.map((g) => (
                  <div key={g.id}>
                    <h3 className="subhead">Security group {g.name || g.id}</h3>
                    <Table aria-label={`Rules of security group ${g.name || g.id}`} className="table stack-on-narrow">
                      <TableHeader>
                        <Column isRowHeader>Direction</Column>
                        <Column>Action</Column>
                        <Column>Protocol</Column>
                        <Column>Ports</Column>
                        <Column>CIDR</Column>
                      </TableHeader>
                      <TableBody items={g.rules.map((r, i) => ({ ...r, key: i }))}>
                        {(r) => (
                          <Row id={r.key}>
                            <Cell data-label="Direction">{r.direction}</Cell>
                            <Cell data-label="Action">{r.action}</Cell>
                            <Cell data-label="Protocol">{r.protocol}</Cell>
                            <Cell data-label="Ports">{r.ports}</Cell>
                            <Cell data-label="CIDR">{r.cidr}</Cell>
                          </Row>
                        )}
                      </TableBody>
                    </Table>
                  </div>
                ))}
              </>
            )}
          </section>
        </>
      )}
    </>
  );
}

function AssetList() {
  const open = useOpenFromList();
  const accounts = useCloudAccounts();
  const [filters, setFilters] = useUrlState(LIST_DEFAULTS);
  const { account, name } = filters;
  const vendor = offered(filters.vendor, VENDOR_FILTERS);
  const type = offered(filters.type, TYPE_FILTERS);
  const exposure = offered(filters.exposure, EXPOSURE_FILTERS);
  const [nameInput, setNameInput] = useTypedFilter(name, (typed) => setFilters({ name: typed }));
  const pages = useUrlPages();
  const query: AssetQuery = {
    limit: pages.size,
    cursor: pages.cursor,
    ...(account !== 'any' ? { accountId: account } : {}),
    ...(vendor !== 'any' ? { vendor: vendor as Asset['vendor'] } : {}),
    ...(type !== 'any' ? { type: type as Asset['type'] } : {}),
    ...(exposure !== 'any' ? { exposure: exposure as Asset['exposure'] } : {}),
    ...(name ? { name } : {}),
  };
  const list = useQuery({ queryKey: ['assets', query], queryFn: () => call(api.GET('/api/v1/assets', { params: { query } })), placeholderData: keepPreviousData });
  const names = useMemo(() => new Map((accounts.data ?? []).map((a) => [a.id, a.displayName])), [accounts.data]);
  const items = list.data?.items ?? [];
  return (
    <>
      <PageHeader
        title="Assets"
        description="Cloud resources in the accounts you may see: virtual machines, databases, buckets, clusters and more. Select an asset for its properties, CVEs and network."
      />
      <div className="filters" role="search" aria-label="Filter assets">
        <SearchField value={nameInput} onChange={setNameInput} className="field search">
          <Label>Name</Label>
          <div className="search-box">
            <Icon name="search" />
            <Input placeholder="Filter by name" />
          </div>
        </SearchField>
        <Select
          label="Cloud account"
          options={[{ id: 'any', label: 'Any account' }, ...(accounts.data ?? []).map((a) => ({ id: a.id, label: a.displayName }))]}
          value={account}
          onChange={(value) => setFilters({ account: value })}
          className="filter"
        />
        <Select label="Vendor" options={VENDOR_FILTERS} value={vendor} onChange={(value) => setFilters({ vendor: value })} className="filter" />
        <Select label="Type" options={TYPE_FILTERS} value={type} onChange={(value) => setFilters({ type: value })} className="filter" />
        <Select label="Exposure" options={EXPOSURE_FILTERS} value={exposure} onChange={(value) => setFilters({ exposure: value })} className="filter" />
      </div>
      {list.isError && <Banner>{messageFor(list.error)}</Banner>}
      <div className="table-wrap">
        <Table aria-label="Assets" className="table stack-on-narrow" onRowAction={(key) => open(`/assets/${encodeURIComponent(String(key))}`)}>
          <TableHeader>
            <Column isRowHeader>Name</Column>
            <Column>Type</Column>
            <Column>Vendor</Column>
            <Column>Cloud account</Column>
            <Column>Region</Column>
            <Column>Exposure</Column>
            <Column>CVEs</Column>
          </TableHeader>
          <TableBody
            items={items}
            dependencies={[names]}
            renderEmptyState={() => <div className="table-empty">{list.isPending ? 'Loading assets…' : 'No assets match.'}</div>}
          >
            {(a) => (
              <Row id={a.id} className="row clickable">
                <Cell className="cell-name" data-label="Name">
                  {a.name}
                </Cell>
                <Cell data-label="Type">{ASSET_TYPE_TITLES[a.type]}</Cell>
                <Cell data-label="Vendor">{VENDOR_TITLES[a.vendor]}</Cell>
                <Cell data-label="Cloud account">{names.get(a.accountId) ?? a.accountId}</Cell>
                <Cell data-label="Region">{a.region}</Cell>
                <Cell data-label="Exposure">
                  <span className={`badge ${a.exposure === 'internet-exposed' ? 'badge-expired' : 'badge-active'}`}>{EXPOSURE_TITLES[a.exposure]}</span>
                </Cell>
                <Cell data-label="CVEs">{a.cveCount > 0 ? <strong>{a.cveCount}</strong> : <span className="muted">0</span>}</Cell>
              </Row>
            )}
          </TableBody>
        </Table>
        <Pager pages={pages} shown={items.length} nextCursor={list.data?.nextCursor} noun="assets" />
      </div>
    </>
  );
}

export function AssetsPage() {
  const { id } = useParams();
  return id === undefined ? <AssetList /> : <AssetDetails id={id} />;
}
