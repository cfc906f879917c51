/**
 * Main Menu > CVEs: the CVE findings by severity, and the assets a given CVE affects (the API's
 * `cve` filter on GET /api/v1/assets). The CVE asked for stays in the address (?cve=…).
 */
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { Cell, Column, Form, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { api, call } from '../../api/client';
import { messageFor } from '../../api/errors';
import { useSession } from '../../auth/session';
import { NoCloudAccounts } from '../../components/EmptyState';
import { PageHeader } from '../../components/Layout';
import { Banner, Button, TextField } from '../../components/ui';
import { useUrlState } from '../../lib/url-state';
import { ASSET_TYPE_TITLES, EXPOSURE_TITLES, VENDOR_TITLES } from '../../lib/vendors';
import { SEVERITY_TITLES, useSummary } from './ReportsPage';

const CVE_DEFAULTS = { cve: '' } as const;
/** As the server checks it: CVE-YYYY-NNNN, year 1999 or later, at least four digits. */
const CVE_ID = /^CVE-(199\d|2\d{3})-\d{4,}$/;
const SHOWN = 100;

export function CvesPage() {
  const { may } = useSession();
  const [url, setUrl] = useUrlState(CVE_DEFAULTS);
  const [typed, setTyped] = useState(url.cve);
  const [invalid, setInvalid] = useState<string | undefined>();
  const summary = useSummary();
  const cve = url.cve;
  const assets = useQuery({
    queryKey: ['assets', 'cve', cve],
    enabled: cve !== '',
    queryFn: () => call(api.GET('/api/v1/assets', { params: { query: { cve, limit: SHOWN } } })),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const id = typed.trim().toUpperCase();
    if (id !== '' && !CVE_ID.test(id)) return setInvalid('Enter a CVE id such as CVE-2021-44228.');
    setInvalid(undefined);
    setUrl({ cve: id });
  }

  const s = summary.data;
  const empty = s !== undefined && s.cloudAccounts.total === 0;
  return (
    <>
      <PageHeader title="CVEs" description="Known vulnerabilities found on your assets, over the cloud accounts your roles let you see." />
      {summary.isError && may('reports:read') && <Banner>{messageFor(summary.error)}</Banner>}
      {empty ? (
        <NoCloudAccounts what="CVE findings" />
      ) : (
        <>
          {s && (
            <dl className="cards">
              {(Object.keys(SEVERITY_TITLES) as (keyof typeof SEVERITY_TITLES)[]).map((severity) => (
                <div className="card" key={severity}>
                  <dt className="metric-label">{SEVERITY_TITLES[severity]}</dt>
                  <dd className="metric">{s.cves.bySeverity[severity].toLocaleString('en-GB')}</dd>
                </div>
              ))}
              <div className="card">
                <dt className="metric-label">Assets with CVEs</dt>
                <dd className="metric">{s.cves.affectedAssets.toLocaleString('en-GB')}</dd>
              </div>
            </dl>
          )}
          <Form className="filters" role="search" aria-label="Find the assets a CVE affects" onSubmit={submit} validationBehavior="aria">
            <TextField label="CVE ID" value={typed} onChange={setTyped} placeholder="CVE-2021-44228" error={invalid} className="search" />
            <Button type="submit" variant="primary" className="align-end">
              Show affected assets
            </Button>
          </Form>
          {cve === '' ? (
            <p className="muted">Enter a CVE id to list the assets it affects; each asset's page lists all of its CVEs.</p>
          ) : (
            <>
              {assets.isError && <Banner>{messageFor(assets.error)}</Banner>}
              <div className="table-wrap">
                <Table aria-label={`Assets affected by ${cve}`} className="table stack-on-narrow">
                  <TableHeader>
                    <Column isRowHeader>Asset</Column>
                    <Column>Type</Column>
                    <Column>Vendor</Column>
                    <Column>Region</Column>
                    <Column>Exposure</Column>
                  </TableHeader>
                  <TableBody
                    items={assets.data?.items ?? []}
                    renderEmptyState={() => (
                      <div className="table-empty" role="status">
                        {assets.isPending ? 'Loading assets…' : `No asset you may see has ${cve}.`}
                      </div>
                    )}
                  >
                    {(asset) => (
                      <Row id={asset.id} className="row">
                        <Cell data-label="Asset">
                          <Link to={`/assets/${encodeURIComponent(asset.id)}`}>{asset.name}</Link>
                        </Cell>
                        <Cell data-label="Type">{ASSET_TYPE_TITLES[asset.type]}</Cell>
                        <Cell data-label="Vendor">{VENDOR_TITLES[asset.vendor]}</Cell>
                        <Cell data-label="Region">{asset.region}</Cell>
                        <Cell data-label="Exposure">{EXPOSURE_TITLES[asset.exposure]}</Cell>
                      </Row>
                    )}
                  </TableBody>
                </Table>
              </div>
              {assets.data?.nextCursor != null && (
                <p className="muted">
                  The first {SHOWN} assets are shown; <Link to="/assets">Assets</Link> pages through the whole inventory.
                </p>
              )}
            </>
          )}
        </>
      )}
    </>
  );
}
