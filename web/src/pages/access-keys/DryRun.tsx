/** What proposed roles would have refused of a key's recorded requests (the dry run), in words. */
import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { messageFor } from '../../api/errors';
import type { Grant } from '../../api/types';
import { Banner } from '../../components/ui';

export function useDryRun(keyId: string, roles: Grant[] | undefined) {
  return useQuery({
    queryKey: ['access-keys', keyId, 'dry-run', roles],
    enabled: roles !== undefined,
    queryFn: () => call(api.POST('/api/v1/access-keys/{id}/dry-run', { params: { path: { id: keyId } }, body: { roles: roles ?? [] } })),
  });
}

/** The dry run of `roles` on the key's recorded activity, shown before the roles are saved. */
export function DryRunResult({ keyId, roles, accountNames }: { keyId: string; roles: Grant[]; accountNames: ReadonlyMap<string, string> }) {
  const dryRun = useDryRun(keyId, roles);
  if (dryRun.isPending)
    return (
      <p className="muted" role="status">
        Checking these roles against the key's recorded requests…
      </p>
    );
  if (dryRun.isError) return <Banner>{messageFor(dryRun.error)}</Banner>;
  const denied = dryRun.data.wouldDeny;
  if (denied.length === 0) {
    return (
      <div data-testid="dry-run">
        <Banner tone="success">With these roles, every request this key made successfully in its recorded activity would still be allowed.</Banner>
      </div>
    );
  }
  const total = denied.reduce((sum, d) => sum + d.count, 0);
  return (
    <div data-testid="dry-run">
      <Banner tone="info">
        With these roles, {total} of this key's recorded requests would have been refused. Applications that make them will get 403 (or 404 for an account outside the
        roles) after you save.
      </Banner>
      <ul className="dry-run-list" aria-label="Requests these roles would refuse">
        {denied.map((d) => (
          <li key={`${d.method} ${d.route} ${d.accountId ?? ''}`}>
            <code>
              {d.method} {d.route}
            </code>
            {d.accountId !== undefined && <> on {accountNames.get(d.accountId) ?? d.accountId}</>} — {d.count} {d.count === 1 ? 'request' : 'requests'}
          </li>
        ))}
      </ul>
    </div>
  );
}
