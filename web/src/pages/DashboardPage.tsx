/** Main Menu > Dashboard: the report counts, over the cloud accounts the user may see. */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, call } from '../api/client';
import { useSession } from '../auth/session';
import { messageFor } from '../api/errors';
import { PageHeader } from '../components/Layout';
import { NoCloudAccounts } from '../components/EmptyState';
import { Banner } from '../components/ui';
import { EXPOSURE_TITLES, STATUS_TITLES, VENDOR_TITLES } from '../lib/vendors';
import { countText, EXPIRING_SOON_FILTER, SOON_DAYS, useKeysExpiringSoon } from './access-keys/ExpiringSoon';

function Breakdown({ title, rows }: { title: string; rows: [string, number][] }) {
  const max = Math.max(1, ...rows.map(([, n]) => n));
  const id = `bd-${title.replace(/\W+/g, '-')}`;
  return (
    <section className="panel" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <dl className="bars">
        {rows.map(([label, n]) => (
          <div key={label} className="bar-row">
            <dt>{label}</dt>
            <dd className="bar" aria-hidden="true">
              <span style={{ width: `${(n / max) * 100}%` }} />
            </dd>
            <dd>
              <strong>{n.toLocaleString('en-GB')}</strong>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

const SEVERITIES = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' } as const;

/** For those who manage access keys: how many expire within a week, linking to them. */
function ExpiringKeysCard() {
  const soon = useKeysExpiringSoon();
  if (soon.data === undefined) return null;
  return (
    <div className="card">
      <dt className="metric-label">Access keys expiring within {SOON_DAYS} days</dt>
      <dd className="metric">
        <Link
          to={`/configuration/api-access-keys?status=${EXPIRING_SOON_FILTER}`}
          aria-label={`${countText(soon.data.count, soon.data.capped)} access keys expiring within ${SOON_DAYS} days: show them`}
        >
          {countText(soon.data.count, soon.data.capped)}
        </Link>
      </dd>
    </div>
  );
}

export function DashboardPage() {
  const { may } = useSession();
  const summary = useQuery({ queryKey: ['reports', 'summary'], queryFn: () => call(api.GET('/api/v1/reports/summary')) });
  const s = summary.data;
  return (
    <>
      <PageHeader title="Dashboard" description="What Tessera monitors, counted over the cloud accounts your roles let you see." />
      {summary.isError && <Banner>{messageFor(summary.error)}</Banner>}
      {summary.isPending && <p role="status">Loading the summary…</p>}
      {s && s.cloudAccounts.total === 0 && <NoCloudAccounts what="figures" />}
      {s && (
        <>
          <dl className="cards">
            <div className="card">
              <dt className="metric-label">Cloud accounts</dt>
              <dd className="metric">{s.cloudAccounts.total.toLocaleString('en-GB')}</dd>
            </div>
            <div className="card">
              <dt className="metric-label">Assets</dt>
              <dd className="metric">{s.assets.total.toLocaleString('en-GB')}</dd>
            </div>
            <div className="card">
              <dt className="metric-label">Internet-exposed assets</dt>
              <dd className="metric">{s.assets.byExposure['internet-exposed'].toLocaleString('en-GB')}</dd>
            </div>
            <div className="card">
              <dt className="metric-label">CVE findings</dt>
              <dd className="metric">{s.cves.total.toLocaleString('en-GB')}</dd>
            </div>
            <div className="card">
              <dt className="metric-label">Assets with CVEs</dt>
              <dd className="metric">{s.cves.affectedAssets.toLocaleString('en-GB')}</dd>
            </div>
            {may('access-keys:manage') && <ExpiringKeysCard />}
          </dl>
          <div className="two-col">
            <Breakdown
              title="Cloud accounts by vendor"
              rows={Object.entries(s.cloudAccounts.byVendor).map(([k, n]) => [VENDOR_TITLES[k as keyof typeof VENDOR_TITLES], n])}
            />
            <Breakdown
              title="Cloud accounts by status"
              rows={Object.entries(s.cloudAccounts.byStatus).map(([k, n]) => [STATUS_TITLES[k as keyof typeof STATUS_TITLES], n])}
            />
            <Breakdown title="Assets by vendor" rows={Object.entries(s.assets.byVendor).map(([k, n]) => [VENDOR_TITLES[k as keyof typeof VENDOR_TITLES], n])} />
            <Breakdown title="Assets by exposure" rows={Object.entries(s.assets.byExposure).map(([k, n]) => [EXPOSURE_TITLES[k as keyof typeof EXPOSURE_TITLES], n])} />
            <Breakdown title="CVE findings by severity" rows={Object.entries(s.cves.bySeverity).map(([k, n]) => [SEVERITIES[k as keyof typeof SEVERITIES], n])} />
          </div>
        </>
      )}
    </>
  );
}
