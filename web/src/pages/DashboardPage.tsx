/** Main Menu > Dashboard: the report counts, over what the user may see. */
import { useQuery } from '@tanstack/react-query';
import { api, call } from '../api/client';
import { messageFor } from '../api/errors';
import { PageHeader } from '../components/Layout';
import { Banner } from '../components/ui';

const words = (key: string) => key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ').replace(/^./, (c) => c.toUpperCase());
const LABELS: Record<string, string> = { aws: 'AWS', azure: 'Azure', gcp: 'Google Cloud', cloudAccounts: 'Cloud accounts', 'internet-exposed': 'Internet exposed', 'no-internet': 'Not exposed', cves: 'CVEs' };
const label = (key: string) => LABELS[key] ?? words(key);

type Counts = { [key: string]: number | Counts };

function Breakdown({ title, counts }: { title: string; counts: Counts }) {
  const entries = Object.entries(counts);
  const numbers = entries.filter((e): e is [string, number] => typeof e[1] === 'number');
  const max = Math.max(1, ...numbers.map(([, n]) => n));
  return (
    <section className="panel" aria-labelledby={`bd-${title}`}>
      <h2 id={`bd-${title}`}>{label(title)}</h2>
      <div className="bars">
        {numbers.map(([key, n]) => (
          <div key={key} className="bar-row">
            <span>{label(key)}</span>
            <span className="bar" role="presentation"><span style={{ width: `${(n / max) * 100}%` }} /></span>
            <strong>{n.toLocaleString('en-GB')}</strong>
          </div>
        ))}
      </div>
      {entries.filter(([, v]) => typeof v === 'object').map(([key, v]) => <Breakdown key={key} title={key} counts={v as Counts} />)}
    </section>
  );
}

export function DashboardPage() {
  const summary = useQuery({ queryKey: ['reports', 'summary'], queryFn: () => call(api.GET('/api/v1/reports/summary')) });
  const data = summary.data as unknown as Counts | undefined;
  const totals = data ? Object.entries(data).filter((e): e is [string, number] => typeof e[1] === 'number') : [];
  const groups = data ? Object.entries(data).filter((e): e is [string, Counts] => typeof e[1] === 'object' && e[1] !== null) : [];
  return (
    <>
      <PageHeader title="Dashboard" description="What Tessera monitors, counted over the cloud accounts your roles let you see." />
      {summary.isError && <Banner>{messageFor(summary.error)}</Banner>}
      {summary.isPending && <p role="status">Loading the summary…</p>}
      {data && (
        <>
          <div className="cards">
            {totals.map(([key, n]) => (
              <div key={key} className="card"><div className="metric">{n.toLocaleString('en-GB')}</div><div className="metric-label">{label(key)}</div></div>
            ))}
          </div>
          <div className="two-col">
            {groups.map(([key, counts]) => <Breakdown key={key} title={key} counts={counts} />)}
          </div>
        </>
      )}
    </>
  );
}
