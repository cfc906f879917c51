import { PageHeader } from '../components/Layout';

export function CloudAccountsPage() {
  return <PageHeader title="CloudAccounts" />;
}
