import { PageHeader } from '../components/Layout';

export function PolicyPage() {
  return <PageHeader title="Policy" />;
}
