/** What to show where there is nothing yet, saying what to do next. */
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { useSession } from '../auth/session';

export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="empty-state panel" data-testid="empty-state">
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/** The inventory is empty until a cloud account is added (or the demo data is loaded). */
export function NoCloudAccounts({ what }: { what: string }) {
  const { may } = useSession();
  return (
    <EmptyState title={`No ${what} yet`}>
      <p>
        Tessera shows {what} once it monitors a cloud account.{' '}
        {may('cloud-accounts:write') ? (
          <>
            <Link to="/cloud-accounts">Add a cloud account</Link> with a read-only credential
          </>
        ) : (
          'Ask a Global Admin to add a cloud account'
        )}
        , or try Tessera with demo data: run <code>npx tessera demo</code> in the server's folder.
      </p>
    </EmptyState>
  );
}
