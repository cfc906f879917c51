import { PageHeader } from '../components/Layout';

export function AssetsPage() {
  return <PageHeader title="Assets" />;
}
