/**
 * One API access key (a row of the list, opened): its roles and facts, what it did (the
 * addresses it was used from, the latest first, and its requests by route), the least roles
 * that would have allowed all of it, and the key's actions.
 */
import { useMemo } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { api, call } from '../../api/client';
import { messageFor } from '../../api/errors';
import { useAccountNames } from '../../api/queries';
import type { AccessKey, Grant, KeyActivity } from '../../api/types';
import { PageHeader } from '../../components/Layout';
import { Banner, Button } from '../../components/ui';
import { formatDateTime, relative } from '../../lib/format';
import { ROLE_TITLES } from '../../lib/roles';
import { useListAddress } from '../../lib/url-state';
import { StatusBadge } from './AccessKeysPage';
import { useKeyActions } from './KeyActions';

const LIST_PATH = '/configuration/api-access-keys';

function RoleList({ roles, accountNames }: { roles: readonly Grant[]; accountNames: ReadonlyMap<string, string> }) {
  return (
    <ul className="role-list">
      {roles.map((g) => (
        <li key={g.role}>
          {ROLE_TITLES[g.role]}
          {g.role === 'cloud-account-viewer' && (
            <> — {g.accounts === 'all' ? 'all accounts, including those added later' : g.accounts.map((id) => accountNames.get(id) ?? id).join(', ')}</>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Each address the key was used from, with its last request and its request count, the latest first. */
function addressesOf(activity: KeyActivity): { ip: string; lastSeen: string; count: number }[] {
  const byIp = new Map<string, { ip: string; lastSeen: string; count: number }>();
  for (const item of activity.items) {
    const entry = byIp.get(item.ip);
    if (entry === undefined) byIp.set(item.ip, { ip: item.ip, lastSeen: item.lastSeen, count: item.count });
    else {
      entry.count += item.count;
      if (item.lastSeen > entry.lastSeen) entry.lastSeen = item.lastSeen;
    }
  }
  return [...byIp.values()].sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0));
}

function sameGrants(a: readonly Grant[], b: readonly Grant[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function AccessKeyPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const accountNames = useAccountNames();
  const listAddress = useListAddress(LIST_PATH);
  const actions = useKeyActions({ onRemoved: () => void navigate(listAddress) });
  const key = useQuery({ queryKey: ['access-keys', id], queryFn: () => call(api.GET('/api/v1/access-keys/{id}', { params: { path: { id } } })) });
  const activity = useQuery({
    queryKey: ['access-keys', id, 'activity'],
    queryFn: () => call(api.GET('/api/v1/access-keys/{id}/activity', { params: { path: { id } } })),
  });
  const advice = useQuery({
    queryKey: ['access-keys', id, 'advice'],
    queryFn: () => call(api.GET('/api/v1/access-keys/{id}/advice', { params: { path: { id } } })),
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: "now" is when the key was loaded, for its relative times.
  const now = useMemo(() => new Date(), [key.dataUpdatedAt]);
  const k: AccessKey | undefined = key.data;
  const addresses = activity.data ? addressesOf(activity.data) : [];

  return (
    <>
      <p>
        <Link to={listAddress}>← All API access keys</Link>
      </p>
      {key.isError && <Banner>{messageFor(key.error)}</Banner>}
      {actions.notice !== undefined && <Banner tone="success">{actions.notice}</Banner>}
      {actions.error !== undefined && <Banner>{actions.error}</Banner>}
      {k && (
        <>
          <PageHeader
            title={k.name}
            description={k.description ?? undefined}
            actions={actions.actionsFor(k).map((a) => (
              <Button key={a.id} variant={a.danger === true ? 'danger' : 'secondary'} isDisabled={a.disabled === true} onPress={() => actions.run(k, a.id)}>
                {a.label.replace(' access key', '')}
              </Button>
            ))}
          />
          <div className="two-col">
            <section className="panel" aria-labelledby="key-overview">
              <h2 id="key-overview">Overview</h2>
              <dl className="kv">
                <dt>Status</dt>
                <dd>
                  <StatusBadge accessKey={k} now={now} />
                </dd>
                <dt>Roles</dt>
                <dd>
                  <RoleList roles={k.roles} accountNames={accountNames} />
                </dd>
                <dt>Description</dt>
                <dd>{k.description ?? <span className="muted">None</span>}</dd>
                <dt>Created by</dt>
                <dd>{k.createdBy ?? <span className="muted">Not recorded</span>}</dd>
                <dt>Created</dt>
                <dd>{formatDateTime(k.createdAt)}</dd>
                <dt>Expiration Date</dt>
                <dd>
                  {formatDateTime(k.expiresAt)} ({relative(k.expiresAt, now)})
                </dd>
                {k.previousTokenExpiresAt !== null && (
                  <>
                    <dt>Previous token</dt>
                    <dd>works until {formatDateTime(k.previousTokenExpiresAt)}</dd>
                  </>
                )}
                <dt>Last used</dt>
                <dd data-testid="key-last-used">
                  {k.lastUsedAt === null ? (
                    <span className="muted">Never</span>
                  ) : (
                    <>
                      <span title={formatDateTime(k.lastUsedAt)}>{relative(k.lastUsedAt, now)}</span>
                      {k.lastUsedIp !== null && <> from {k.lastUsedIp}</>} · {k.useCount} {k.useCount === 1 ? 'request' : 'requests'} in all
                    </>
                  )}
                </dd>
                <dt>Allowed addresses</dt>
                <dd data-testid="key-allowlist">
                  {k.allowedCidrs.length === 0 ? <span className="muted">Any address</span> : k.allowedCidrs.map((entry) => <code key={entry}>{entry} </code>)}
                </dd>
                <dt>Rate limit</dt>
                <dd data-testid="key-rate-limit">
                  {k.rateLimit === null ? (
                    <span className="muted">None</span>
                  ) : (
                    `${k.rateLimit.requests} ${k.rateLimit.requests === 1 ? 'request' : 'requests'} per ${k.rateLimit.perSeconds} ${k.rateLimit.perSeconds === 1 ? 'second' : 'seconds'}`
                  )}
                </dd>
              </dl>
            </section>
            <section className="panel" aria-labelledby="key-advice">
              <h2 id="key-advice">Least privilege</h2>
              {advice.isError && <Banner>{messageFor(advice.error)}</Banner>}
              {advice.data &&
                (advice.data.suggestedRoles.length === 0 ? (
                  <p className="muted">No successful request in the last {advice.data.basis.days} days: nothing to base advice on yet.</p>
                ) : (
                  <div data-testid="key-advice">
                    <p>
                      The {advice.data.basis.requests} successful requests of the last {advice.data.basis.days} days would all have been allowed with:
                    </p>
                    <RoleList roles={advice.data.suggestedRoles} accountNames={accountNames} />
                    {sameGrants(advice.data.suggestedRoles, k.roles) ? (
                      <p className="muted">These are the key's roles already.</p>
                    ) : (
                      <Button variant="primary" onPress={() => advice.data && actions.editWithRoles(k, advice.data.suggestedRoles)}>
                        Use these roles…
                      </Button>
                    )}
                  </div>
                ))}
            </section>
          </div>
          <section className="panel section" aria-labelledby="key-addresses">
            <h2 id="key-addresses">Addresses</h2>
            {activity.isError && <Banner>{messageFor(activity.error)}</Banner>}
            {activity.data &&
              (addresses.length === 0 ? (
                <p className="muted">No request recorded since {formatDateTime(activity.data.since)}.</p>
              ) : (
                <ol className="address-list" aria-label="Addresses, the latest first">
                  {addresses.map((a) => (
                    <li key={a.ip}>
                      <code>{a.ip}</code> — last {formatDateTime(a.lastSeen)}, {a.count} {a.count === 1 ? 'request' : 'requests'}
                    </li>
                  ))}
                </ol>
              ))}
          </section>
          {activity.data && activity.data.items.length > 0 && (
            <section className="panel section" aria-labelledby="key-activity">
              <h2 id="key-activity">Activity</h2>
              <p className="muted small">Requests by hour, route, status, address and cloud account since {formatDateTime(activity.data.since)}, the latest first.</p>
              <Table aria-label="Activity" className="table stack-on-narrow">
                <TableHeader>
                  <Column isRowHeader>Request</Column>
                  <Column>Status</Column>
                  <Column>Address</Column>
                  <Column>Cloud account</Column>
                  <Column>Requests</Column>
                  <Column>Last</Column>
                </TableHeader>
                <TableBody items={activity.data.items.map((item, index) => ({ ...item, id: index }))}>
                  {(item) => (
                    <Row id={item.id}>
                      <Cell data-label="Request">
                        <code>
                          {item.method} {item.route}
                        </code>
                      </Cell>
                      <Cell data-label="Status">{item.status}</Cell>
                      <Cell data-label="Address">{item.ip}</Cell>
                      <Cell data-label="Cloud account">{item.accountId === undefined ? '—' : (accountNames.get(item.accountId) ?? item.accountId)}</Cell>
                      <Cell data-label="Requests">{item.count}</Cell>
                      <Cell data-label="Last" className="nowrap">
                        {formatDateTime(item.lastSeen)}
                      </Cell>
                    </Row>
                  )}
                </TableBody>
              </Table>
            </section>
          )}
        </>
      )}
      {actions.windows}
    </>
  );
}
