/**
 * Main Menu > Configuration > API Access Keys. The list is read a page at a time from the
 * server (sorted and filtered there), so it stays quick with any number of keys.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { Button as AriaButton, Cell, Column, Row, SearchField, Input, Label, Table, TableBody, TableHeader, type SortDescriptor } from 'react-aria-components';
import { api, call } from '../../api/client';
import { messageFor } from '../../api/errors';
import { useAccessKeyPolicy, useAccountNames } from '../../api/queries';
import type { AccessKey, AccessKeyQuery, NewAccessKey } from '../../api/types';
import { PageHeader } from '../../components/Layout';
import { Pager } from '../../components/Pager';
import { Banner, Button, Icon, RowActions, Select } from '../../components/ui';
import { formatDateTime, relative } from '../../lib/format';
import { grantLabel, ROLE_TITLES, ROLES } from '../../lib/roles';
import { offered, useOpenFromList, useTypedFilter, useUrlPages, useUrlState } from '../../lib/url-state';
import { KeyDetailsWindow } from './KeyDetailsWindow';
import { KeyDialog } from './KeyDialog';
import { useKeyActions } from './KeyActions';
import { PolicyDialog } from './PolicyDialog';
import { EXPIRING_SOON_FILTER, ExpiringSoonBanner, SOON_DAYS } from './ExpiringSoon';

const EXPIRING_DAYS = 30;

type SortColumn = 'name' | 'role' | 'createdAt' | 'expiresAt' | 'lastUsedAt' | 'status';
/** The status follows the expiration date, so it sorts by it. */
const SERVER_SORT: Record<SortColumn, NonNullable<AccessKeyQuery['sort']>> = {
  name: 'name',
  role: 'role',
  createdAt: 'createdAt',
  expiresAt: 'expiresAt',
  lastUsedAt: 'lastUsedAt',
  status: 'expiresAt',
};

const ROLE_FILTERS = [{ id: 'any', label: 'Any role' }, ...ROLES.map((r) => ({ id: r, label: ROLE_TITLES[r] }))];
const STATUS_FILTERS = [
  { id: 'any', label: 'Any status' },
  { id: 'active', label: 'Active' },
  { id: EXPIRING_SOON_FILTER, label: `Expiring within ${SOON_DAYS} days` },
  { id: 'expiring', label: `Expiring within ${EXPIRING_DAYS} days` },
  { id: 'disabled', label: 'Disabled' },
  { id: 'expired', label: 'Expired' },
];

/** The list's filters and sort, as they appear in the address (the dashboard links here with ?status=expiring-7). */
const LIST_DEFAULTS = { name: '', role: 'any', status: 'any', sort: 'createdAt', order: 'desc' } as const;

export function StatusBadge({ accessKey, now }: { accessKey: AccessKey; now: Date }) {
  if (accessKey.status === 'expired') return <span className="badge badge-expired">Expired</span>;
  if (accessKey.status === 'disabled') return <span className="badge badge-expired">Disabled</span>;
  const left = new Date(accessKey.expiresAt).getTime() - now.getTime();
  if (left <= EXPIRING_DAYS * 86_400_000)
    return (
      <span className="badge badge-expiring" title={`Expires ${relative(accessKey.expiresAt, now)}`}>
        Expires {relative(accessKey.expiresAt, now)}
      </span>
    );
  return <span className="badge badge-active">Active</span>;
}

/** The page's own windows; a key's actions open theirs through useKeyActions. */
type Dialog = { kind: 'add' } | { kind: 'details'; key: NewAccessKey } | { kind: 'policy' } | null;

export function AccessKeysPage() {
  const queries = useQueryClient();
  const [listState, setListState] = useUrlState(LIST_DEFAULTS);
  const name = listState.name;
  const [nameFilter, setNameFilter] = useTypedFilter(name, (typed) => setListState({ name: typed }));
  const role = offered(listState.role, ROLE_FILTERS);
  const status = offered(listState.status, STATUS_FILTERS);
  const sort: SortDescriptor = {
    column: Object.hasOwn(SERVER_SORT, listState.sort) ? listState.sort : LIST_DEFAULTS.sort,
    direction: listState.order === 'asc' ? 'ascending' : 'descending',
  };
  const setSort = (next: SortDescriptor) => setListState({ sort: String(next.column), order: next.direction === 'ascending' ? 'asc' : 'desc' });
  const [dialog, setDialog] = useState<Dialog>(null);
  const [pageNotice, setNotice] = useState<string | undefined>();
  const actions = useKeyActions();
  const notice = pageNotice ?? actions.notice;
  const open = useOpenFromList();
  const accountNames = useAccountNames();
  const policy = useAccessKeyPolicy();
  const marked = useRef(false);
  const addButton = useRef<HTMLButtonElement>(null);
  // The details window follows the Add window, so there is nothing of the user's to return focus
  // to when it closes: send it to "Add access key", where the journey began.
  const closeDetails = () => {
    setDialog(null);
    requestAnimationFrame(() => addButton.current?.focus());
  };
  const pages = useUrlPages();

  const queryFor = (order: SortDescriptor, cursor: string | undefined): AccessKeyQuery => ({
    limit: pages.size,
    cursor,
    sort: SERVER_SORT[order.column as SortColumn],
    order: order.direction === 'ascending' ? 'asc' : 'desc',
    ...(name ? { name } : {}),
    ...(role !== 'any' ? { role: role as AccessKeyQuery['role'] } : {}),
    ...(status === EXPIRING_SOON_FILTER
      ? { status: 'expiring' as const, expiringWithinDays: SOON_DAYS }
      : status !== 'any'
        ? { status: status as AccessKeyQuery['status'] }
        : {}),
  });
  const options = (query: AccessKeyQuery) => ({
    queryKey: ['access-keys', query],
    queryFn: () => call(api.GET('/api/v1/access-keys', { params: { query } })),
  });
  const filtered = name !== '' || role !== 'any' || status !== 'any';
  const list = useQuery({ ...options(queryFor(sort, pages.cursor)), placeholderData: keepPreviousData });
  // A new sort or page is loaded before it is shown, so the 50 rows render once, with the new data.
  const prefetch = (query: AccessKeyQuery) => queries.prefetchQuery(options(query));
  // biome-ignore lint/correctness/useExhaustiveDependencies: "now" is when the rows were loaded, for their expiry labels.
  const now = useMemo(() => new Date(), [list.dataUpdatedAt]);

  // Performance marks for the e2e bench: from navigation start to the first page of rows on screen.
  useEffect(() => {
    if (!marked.current && list.data) {
      marked.current = true;
      requestAnimationFrame(() => performance.mark('access-keys:rendered', { detail: { rows: list.data.items.length } }));
    }
  }, [list.data]);

  const items = list.data?.items ?? [];

  return (
    <>
      <PageHeader
        title="API Access Keys"
        description="Keys let other applications call the Tessera API. What a key may do follows its roles; a key's JSON web token is shown only once, when it is added."
        actions={
          <>
            <Button onPress={() => setDialog({ kind: 'policy' })} isDisabled={policy.data === undefined}>
              Key policy
            </Button>
            <Button variant="primary" onPress={() => setDialog({ kind: 'add' })} ref={addButton}>
              <Icon name="plus" /> Add access key
            </Button>
          </>
        }
      />
      {notice !== undefined && <Banner tone="success">{notice}</Banner>}
      {actions.error !== undefined && <Banner>{actions.error}</Banner>}
      <ExpiringSoonBanner filtered={status === EXPIRING_SOON_FILTER} onShow={() => setListState({ name: '', role: 'any', status: EXPIRING_SOON_FILTER })} />

      <div className="filters" role="search" aria-label="Filter access keys">
        <SearchField value={nameFilter} onChange={setNameFilter} className="field search">
          <Label>Name</Label>
          <div className="search-box">
            <Icon name="search" />
            <Input placeholder="Filter by name" />
            {nameFilter !== '' && (
              <AriaButton className="icon-btn small" aria-label="Clear name filter">
                <Icon name="close" />
              </AriaButton>
            )}
          </div>
        </SearchField>
        <Select label="Role" options={ROLE_FILTERS} value={role} onChange={(role) => setListState({ role })} className="filter" />
        <Select label="Status" options={STATUS_FILTERS} value={status} onChange={(status) => setListState({ status })} className="filter" />
      </div>

      {list.isError && (
        <Banner>
          {messageFor(list.error)}{' '}
          <Button variant="quiet" onPress={() => void list.refetch()}>
            Try again
          </Button>
        </Banner>
      )}

      <div className="table-wrap" aria-busy={list.isFetching}>
        <Table
          aria-label="API access keys"
          sortDescriptor={sort}
          onSortChange={(next) => void prefetch(queryFor(next, undefined)).finally(() => setSort(next))}
          className="table keys-table stack-on-narrow"
          onRowAction={(id) => open(`/configuration/api-access-keys/${String(id)}`)}
        >
          <TableHeader>
            <Column id="name" isRowHeader allowsSorting className="col-name">
              Name
            </Column>
            <Column id="role" allowsSorting className="col-role">
              Role
            </Column>
            <Column id="createdAt" allowsSorting className="col-date">
              Created
            </Column>
            <Column id="expiresAt" allowsSorting className="col-date">
              Expiration Date
            </Column>
            <Column id="lastUsedAt" allowsSorting className="col-date">
              Last used
            </Column>
            <Column id="status" allowsSorting className="col-status">
              Status
            </Column>
            <Column id="actions" className="col-actions">
              <span className="visually-hidden">Actions</span>
            </Column>
          </TableHeader>
          <TableBody
            items={items}
            dependencies={[accountNames, now]}
            renderEmptyState={() => {
              if (list.isPending)
                return (
                  <div className="table-empty" role="status">
                    Loading access keys…
                  </div>
                );
              if (filtered) {
                return (
                  <div className="table-empty">
                    No access keys match these filters.{' '}
                    <Button variant="quiet" onPress={() => setListState({ name: '', role: 'any', status: 'any' })}>
                      Clear filters
                    </Button>
                  </div>
                );
              }
              return (
                <div className="empty-state">
                  <Icon name="key" className="empty-icon" />
                  <h2>No API access keys yet</h2>
                  <p>Add a key to let another application — a CI job, a SIEM, a script — call the Tessera API with the roles you choose.</p>
                  <Button variant="primary" onPress={() => setDialog({ kind: 'add' })}>
                    Add the first access key
                  </Button>
                </div>
              );
            }}
          >
            {(key) => (
              <Row id={key.id} className="row">
                <Cell className="cell-name" data-label="Name">
                  {key.name}
                  {key.description !== null && <div className="muted key-description">{key.description}</div>}
                </Cell>
                <Cell data-label="Role">
                  <ul className="role-list">
                    {key.roles.map((g) => (
                      <li key={g.role}>
                        <Icon name="key" className="role-icon" />
                        {grantLabel(g, accountNames)}
                      </li>
                    ))}
                  </ul>
                </Cell>
                <Cell className="nowrap" data-label="Created">
                  {formatDateTime(key.createdAt)}
                </Cell>
                <Cell className="nowrap" data-label="Expiration Date">
                  {formatDateTime(key.expiresAt)}
                </Cell>
                <Cell className="nowrap" data-label="Last used">
                  {key.lastUsedAt ? <span title={formatDateTime(key.lastUsedAt)}>{relative(key.lastUsedAt, now)}</span> : <span className="muted">Never</span>}
                </Cell>
                <Cell data-label="Status">
                  <StatusBadge accessKey={key} now={now} />
                </Cell>
                <Cell className="cell-actions">
                  <RowActions
                    label={`Actions for ${key.name}`}
                    actions={actions.actionsFor(key)}
                    onAction={(action) => {
                      setNotice(undefined);
                      actions.run(key, action);
                    }}
                  />
                </Cell>
              </Row>
            )}
          </TableBody>
        </Table>
        <Pager pages={pages} shown={items.length} nextCursor={list.data?.nextCursor} noun="keys" prefetch={(cursor) => prefetch(queryFor(sort, cursor))} />
      </div>

      {dialog?.kind === 'add' && (
        <KeyDialog
          onClose={() => setDialog(null)}
          onAdded={(key) => {
            setNotice(undefined);
            actions.clearMessages();
            setDialog({ kind: 'details', key });
            void queries.invalidateQueries({ queryKey: ['access-keys'] });
          }}
          onSaved={() => setDialog(null)}
        />
      )}
      {dialog?.kind === 'details' && <KeyDetailsWindow accessKey={dialog.key} onClose={closeDetails} />}
      {dialog?.kind === 'policy' && policy.data !== undefined && (
        <PolicyDialog
          policy={policy.data}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            setNotice('The access key policy was saved. It applies to keys added, rolled or edited from now on.');
          }}
        />
      )}
      {actions.windows}
    </>
  );
}
