/** Main Menu > Reports: the inventory summary as tables, counted over what the user may see. */
import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { messageFor } from '../../api/errors';
import { NoCloudAccounts } from '../../components/EmptyState';
import { PageHeader } from '../../components/Layout';
import { Banner } from '../../components/ui';
import { EXPOSURE_TITLES, STATUS_TITLES, VENDOR_TITLES } from '../../lib/vendors';

export const SEVERITY_TITLES = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' } as const;

export function useSummary() {
  return useQuery({ queryKey: ['reports', 'summary'], queryFn: () => call(api.GET('/api/v1/reports/summary')) });
}

function CountTable({ caption, rows, total }: { caption: string; rows: [string, number][]; total: number }) {
  const share = (n: number) => (total === 0 ? '—' : `${Math.round((n / total) * 100)} %`);
  return (
    <table className="report-table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col" />
          <th scope="col">Count</th>
          <th scope="col">Share</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, n]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td>{n.toLocaleString('en-GB')}</td>
            <td>{share(n)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row">Total</th>
          <td>{total.toLocaleString('en-GB')}</td>
          <td />
        </tr>
      </tfoot>
    </table>
  );
}

const titled = <K extends string>(counts: Record<K, number>, titles: Record<K, string>): [string, number][] =>
  (Object.entries(counts) as [K, number][]).map(([key, n]) => [titles[key], n]);

export function ReportsPage() {
  const summary = useSummary();
  const s = summary.data;
  return (
    <>
      <PageHeader
        title="Reports"
        description={
          <>
            The inventory in figures, over the cloud accounts your roles let you see. The same report is in the API: <code>GET /api/v1/reports/summary</code>.
          </>
        }
      />
      {summary.isError && <Banner>{messageFor(summary.error)}</Banner>}
      {summary.isPending && <p role="status">Loading the report…</p>}
      {s && s.cloudAccounts.total === 0 && <NoCloudAccounts what="figures" />}
      {s && s.cloudAccounts.total > 0 && (
        <div className="two-col">
          <CountTable caption="Cloud accounts by vendor" rows={titled(s.cloudAccounts.byVendor, VENDOR_TITLES)} total={s.cloudAccounts.total} />
          <CountTable caption="Cloud accounts by status" rows={titled(s.cloudAccounts.byStatus, STATUS_TITLES)} total={s.cloudAccounts.total} />
          <CountTable caption="Assets by vendor" rows={titled(s.assets.byVendor, VENDOR_TITLES)} total={s.assets.total} />
          <CountTable caption="Assets by exposure" rows={titled(s.assets.byExposure, EXPOSURE_TITLES)} total={s.assets.total} />
          <CountTable caption="CVE findings by severity" rows={titled(s.cves.bySeverity, SEVERITY_TITLES)} total={s.cves.total} />
        </div>
      )}
    </>
  );
}
