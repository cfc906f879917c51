/** Main Menu > Configuration > Audit: every change, who made it, from where. A row opens its detail. */
import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Cell, Column, Row, Table, TableBody, TableHeader } from 'react-aria-components';
import { AUDIT_ACTIONS, AUDIT_CATEGORIES } from '../../../src/audit/audit-event.ts';
import { api, call } from '../api/client';
import { messageFor } from '../api/errors';
import type { AuditEvent, AuditQuery } from '../api/types';
import { PageHeader } from '../components/Layout';
import { Pager } from '../components/Pager';
import { Banner, Button, Select, TextField, Window } from '../components/ui';
import { formatDateTime } from '../lib/format';
import { offered, useTypedFilter, useUrlPages, useUrlState } from '../lib/url-state';

const SPECIAL: Record<string, string> = { cves: 'CVEs' };
const words = (s: string) => SPECIAL[s] ?? s.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());
const CATEGORIES = [{ id: 'any', label: 'Any category' }, ...AUDIT_CATEGORIES.map((c) => ({ id: c, label: words(c) }))];
const ACTIONS = [{ id: 'any', label: 'Any action' }, ...AUDIT_ACTIONS.map((a) => ({ id: a, label: words(a) }))];
const FILTER_DEFAULTS = { from: '', to: '', actor: '', category: 'any', action: 'any' } as const;

/** A yyyy-mm-dd from a date input, as the start of that day in the viewer's time zone. */
function dayStart(value: string, plusDays = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return undefined;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).toISOString();
}

export function AuditPage() {
  const [filters, setFilters] = useUrlState(FILTER_DEFAULTS);
  const { from, to, actor } = filters;
  const category = offered(filters.category, CATEGORIES);
  const action = offered(filters.action, ACTIONS);
  const [actorInput, setActorInput] = useTypedFilter(actor, (typed) => setFilters({ actor: typed }));
  const [open, setOpen] = useState<AuditEvent | null>(null);
  const pages = useUrlPages();

  const fromIso = dayStart(from);
  const toIso = dayStart(to, 1);
  const rangeError = fromIso && toIso && fromIso >= toIso ? 'The end date is before the start date.' : undefined;
  const query: AuditQuery = {
    limit: pages.size,
    cursor: pages.cursor,
    ...(fromIso ? { from: fromIso } : {}),
    ...(toIso ? { to: toIso } : {}),
    ...(actor ? { actor } : {}),
    ...(category !== 'any' ? { category: category as AuditQuery['category'] } : {}),
    ...(action !== 'any' ? { action: action as AuditQuery['action'] } : {}),
  };
  const list = useQuery({
    queryKey: ['audit', query],
    queryFn: () => call(api.GET('/api/v1/audit-events', { params: { query } })),
    placeholderData: keepPreviousData,
    enabled: rangeError === undefined,
  });
  const items = list.data?.items ?? [];

  return (
    <>
      <PageHeader
        title="Audit"
        description="Every change made in Tessera — by people, API access keys and the command line — with its time, actor and address. Select a row to see what changed."
      />
      <div className="filters" role="search" aria-label="Filter audit events">
        <TextField label="From" type="date" value={from} onChange={(value) => setFilters({ from: value })} className="filter" />
        <TextField label="To" type="date" value={to} onChange={(value) => setFilters({ to: value })} error={rangeError} />
        <TextField label="User" value={actorInput} onChange={setActorInput} placeholder="email, or key:<name>" />
        <Select label="Category" options={CATEGORIES} value={category} onChange={(value) => setFilters({ category: value })} className="filter" />
        <Select label="Action" options={ACTIONS} value={action} onChange={(value) => setFilters({ action: value })} className="filter" />
        {(from || to || actorInput || category !== 'any' || action !== 'any') && (
          <Button
            variant="quiet"
            onPress={() => {
              setActorInput('');
              setFilters(FILTER_DEFAULTS);
            }}
          >
            Clear filters
          </Button>
        )}
      </div>
      {list.isError && <Banner>{messageFor(list.error)}</Banner>}
      <div className="table-wrap">
        <Table aria-label="Audit events" className="table stack-on-narrow" onRowAction={(key) => setOpen(items.find((e) => e.id === key) ?? null)}>
          <TableHeader>
            <Column isRowHeader>Time Stamp</Column>
            <Column>User</Column>
            <Column>Category</Column>
            <Column>Resource</Column>
            <Column>Action</Column>
            <Column>User IP</Column>
          </TableHeader>
          <TableBody items={items} renderEmptyState={() => <div className="table-empty">{list.isPending ? 'Loading events…' : 'No events match these filters.'}</div>}>
            {(event) => (
              <Row id={event.id} className="row clickable">
                <Cell data-label="Time Stamp">{formatDateTime(event.at)}</Cell>
                <Cell data-label="User">{event.actor}</Cell>
                <Cell data-label="Category">{words(event.category)}</Cell>
                <Cell data-label="Resource">{event.resource}</Cell>
                <Cell data-label="Action">{words(event.action)}</Cell>
                <Cell data-label="User IP">{event.actorIp ?? <span className="muted">—</span>}</Cell>
              </Row>
            )}
          </TableBody>
        </Table>
        <Pager pages={pages} shown={items.length} nextCursor={list.data?.nextCursor} noun="events" />
      </div>
      {open && (
        <Window title="Audit Event" isOpen size="lg" onOpenChange={(o) => !o && setOpen(null)}>
          <div className="dialog-body">
            <dl className="kv">
              <dt>Time Stamp</dt>
              <dd>
                {formatDateTime(open.at)} <span className="muted">({open.at})</span>
              </dd>
              <dt>User</dt>
              <dd>{open.actor}</dd>
              <dt>User IP</dt>
              <dd>{open.actorIp ?? '—'}</dd>
              <dt>Category</dt>
              <dd>{words(open.category)}</dd>
              <dt>Resource</dt>
              <dd>
                {open.resource}
                {open.resourceId ? <span className="muted"> ({open.resourceId})</span> : null}
              </dd>
              <dt>Action</dt>
              <dd>{words(open.action)}</dd>
            </dl>
            <h3>Detail</h3>
            {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard. */}
            <pre className="json" role="region" aria-label="Detail JSON" tabIndex={0}>
              {JSON.stringify(open.detail, null, 2)}
            </pre>
          </div>
          <footer className="dialog-footer">
            <Button variant="primary" onPress={() => setOpen(null)}>
              Close
            </Button>
          </footer>
        </Window>
      )}
    </>
  );
}
