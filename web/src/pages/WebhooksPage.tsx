/**
 * Main Menu > Configuration > Webhooks: endpoints that receive access-key events, signed per
 * Standard Webhooks. The signing secret is shown once, when a webhook is added.
 */
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../api/client';
import { ApiError, messageFor } from '../api/errors';
import type { paths } from '../api/schema';
import { CopyButton } from '../components/CopyButton';
import { PageHeader } from '../components/Layout';
import { Banner, Button, Checkbox, Icon, RowActions, TextField, Window } from '../components/ui';
import { formatDateTime } from '../lib/format';
import { WEBHOOK_EVENT_TYPES } from '../../../src/shared/webhook-events.ts';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
type Webhook = Json<paths['/api/v1/webhooks']['get']['responses'][200]>['items'][number];
type NewWebhook = Json<paths['/api/v1/webhooks']['post']['responses'][201]>;
type EventType = Webhook['events'][number];

const EVENT_WORDS: Record<EventType, string> = {
  'access_key.created': 'Key added',
  'access_key.updated': 'Key roles edited',
  'access_key.removed': 'Key removed',
  'access_key.rolled': 'Key rolled',
  'access_key.disabled': 'Key disabled',
  'access_key.enabled': 'Key enabled',
  'access_key.expiring': 'Key expiring soon',
  'access_key.expired': 'Key expired',
  'access_key.leaked': 'Key reported leaked',
};

function AddWebhookWindow({ onClose, onAdded }: { onClose: () => void; onAdded: (hook: NewWebhook) => void }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<EventType[]>(['access_key.expiring', 'access_key.expired']);
  const add = useMutation({
    mutationFn: () => call(api.POST('/api/v1/webhooks', { body: { url: url.trim(), events, ...(description.trim() ? { description: description.trim() } : {}) } })),
    onSuccess: onAdded,
  });
  const problem = add.error instanceof ApiError ? add.error : undefined;
  const toggle = (event: EventType, on: boolean) => setEvents((current) => (on ? [...current, event] : current.filter((e) => e !== event)));
  return (
    <Window title="Add Webhook" isOpen onOpenChange={(open) => !open && !add.isPending && onClose()}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <div className="dialog-body">
          <TextField
            label="URL"
            value={url}
            onChange={(next) => {
              setUrl(next);
              // The server's complaint was about the URL as it was.
              if (add.isError) add.reset();
            }}
            isRequired
            placeholder="https://hooks.example.com/tessera"
            description="Receives each event as a signed POST."
            error={problem?.fieldError('/url')}
          />
          <TextField label="Description" value={description} onChange={setDescription} error={problem?.fieldError('/description')} />
          <div className="field" role="group" aria-labelledby="webhook-events-label">
            <span id="webhook-events-label" className="field-label">
              Events
            </span>
            {WEBHOOK_EVENT_TYPES.map((event) => (
              <Checkbox key={event} isSelected={events.includes(event)} onChange={(on) => toggle(event, on)}>
                {EVENT_WORDS[event]} <code>{event}</code>
              </Checkbox>
            ))}
            {events.length === 0 && <p className="field-error">Select at least one event.</p>}
          </div>
          {add.isError && problem?.fieldError('/url') === undefined && <Banner>{messageFor(add.error)}</Banner>}
        </div>
        <footer className="dialog-footer">
          <Button onPress={onClose} isDisabled={add.isPending}>
            Cancel
          </Button>
          <Button variant="primary" type="submit" isDisabled={add.isPending || events.length === 0 || url.trim() === ''}>
            {add.isPending ? 'Adding…' : 'Add'}
          </Button>
        </footer>
      </form>
    </Window>
  );
}

/** The secret, once: like an access key's token, it cannot be shown again. */
function SecretWindow({ hook, onClose }: { hook: NewWebhook; onClose: () => void }) {
  const [saved, setSaved] = useState(false);
  return (
    <Window title="Webhook Secret" isOpen onOpenChange={(open) => !open && saved && onClose()} dismissable={saved} closeDisabled={!saved} size="lg">
      <div className="dialog-body">
        <p className="lead">
          The webhook for <strong>{hook.url}</strong> has been added. Its receiver verifies each request with this secret (any Standard Webhooks library). Copy it now: it
          will not be shown again.
        </p>
        <dl className="secret-rows">
          <div className="secret-row">
            <dt>Signing secret</dt>
            <dd>
              <code className="secret-value token" data-testid="webhook-secret">
                {hook.secret}
              </code>
            </dd>
            <CopyButton value={hook.secret} label="Copy signing secret" />
          </div>
        </dl>
        <Checkbox isSelected={saved} onChange={setSaved}>
          I have saved the signing secret
        </Checkbox>
      </div>
      <footer className="dialog-footer">
        <Button variant="primary" isDisabled={!saved} onPress={onClose}>
          Close
        </Button>
      </footer>
    </Window>
  );
}

function DeliveriesWindow({ hook, onClose }: { hook: Webhook; onClose: () => void }) {
  const list = useQuery({
    queryKey: ['webhooks', hook.id, 'deliveries'],
    queryFn: () => call(api.GET('/api/v1/webhooks/{id}/deliveries', { params: { path: { id: hook.id }, query: { limit: 50 } } })),
    refetchInterval: 5000,
  });
  return (
    <Window title="Deliveries" isOpen onOpenChange={(open) => !open && onClose()} size="lg">
      <div className="dialog-body">
        <p>
          The latest events sent to <strong>{hook.url}</strong>. A delivery is retried for 24 hours until the receiver answers 2xx.
        </p>
        {list.isError && <Banner>{messageFor(list.error)}</Banner>}
        {list.data?.items.length === 0 && <p className="muted">Nothing sent yet.</p>}
        {list.data && list.data.items.length > 0 && (
          <table className="table" aria-label="Deliveries">
            <thead>
              <tr>
                <th>Event</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Last answer</th>
                <th>Next attempt</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((d) => {
                const last = d.attempts.at(-1);
                return (
                  <tr key={d.id}>
                    <td>
                      <code>{d.type}</code>
                      <div className="muted">{formatDateTime(d.createdAt)}</div>
                    </td>
                    <td>
                      <span className={`badge ${d.status === 'delivered' ? 'badge-active' : d.status === 'failed' ? 'badge-expired' : 'badge-expiring'}`}>
                        {d.status}
                      </span>
                    </td>
                    <td>{d.attempts.length}</td>
                    <td>{last === undefined ? '—' : (last.error ?? `answered ${last.statusCode}`)}</td>
                    <td>{d.nextAttemptAt === null ? '—' : formatDateTime(d.nextAttemptAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
      <footer className="dialog-footer">
        <Button onPress={onClose}>Close</Button>
      </footer>
    </Window>
  );
}

type Dialog = { kind: 'add' } | { kind: 'secret'; hook: NewWebhook } | { kind: 'deliveries'; hook: Webhook } | { kind: 'remove'; hook: Webhook } | null;

export function WebhooksPage() {
  const queries = useQueryClient();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const list = useQuery({ queryKey: ['webhooks'], queryFn: () => call(api.GET('/api/v1/webhooks')) });
  const refresh = () => void queries.invalidateQueries({ queryKey: ['webhooks'] });
  const test = useMutation({
    mutationFn: (hook: Webhook) => call(api.POST('/api/v1/webhooks/{id}/test', { params: { path: { id: hook.id } } })),
    onSuccess: (_delivery, hook) => setNotice(`A test event is on its way to ${hook.url}. Follow it in Deliveries.`),
  });
  const remove = useMutation({
    mutationFn: (hook: Webhook) => call(api.DELETE('/api/v1/webhooks/{id}', { params: { path: { id: hook.id } } })),
    onSuccess: (_data, hook) => {
      setDialog(null);
      setNotice(`The webhook for ${hook.url} was removed.`);
      refresh();
    },
  });
  const items = list.data?.items ?? [];

  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Other systems hear about API access keys as they change: each event is POSTed to the webhooks that subscribe to it, signed per the Standard Webhooks specification."
        actions={
          <Button variant="primary" onPress={() => setDialog({ kind: 'add' })}>
            <Icon name="plus" /> Add webhook
          </Button>
        }
      />
      {notice !== undefined && <Banner tone="success">{notice}</Banner>}
      {(list.isError || test.isError) && <Banner>{messageFor(list.error ?? test.error)}</Banner>}
      {list.isPending && <p role="status">Loading webhooks…</p>}
      {list.data && items.length === 0 && (
        <div className="empty-state">
          <h2>No webhooks yet</h2>
          <p>Add one to hear when a key is added, changed, about to expire or expired.</p>
        </div>
      )}
      {items.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Webhooks">
            <thead>
              <tr>
                <th>URL</th>
                <th>Events</th>
                <th>Description</th>
                <th>Created</th>
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((hook) => (
                <tr key={hook.id}>
                  <th scope="row">
                    <code>{hook.url}</code>
                  </th>
                  <td>{hook.events.map((e) => EVENT_WORDS[e]).join(', ')}</td>
                  <td>{hook.description ?? <span className="muted">—</span>}</td>
                  <td className="nowrap">{formatDateTime(hook.createdAt)}</td>
                  <td className="cell-actions">
                    <RowActions
                      label={`Actions for ${hook.url}`}
                      actions={[
                        { id: 'test', label: 'Send test event' },
                        { id: 'deliveries', label: 'Deliveries' },
                        { id: 'remove', label: 'Remove webhook', danger: true },
                      ]}
                      onAction={(action) => {
                        if (action === 'test') test.mutate(hook);
                        else setDialog(action === 'deliveries' ? { kind: 'deliveries', hook } : { kind: 'remove', hook });
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {dialog?.kind === 'add' && (
        <AddWebhookWindow
          onClose={() => setDialog(null)}
          onAdded={(hook) => {
            setNotice(undefined);
            setDialog({ kind: 'secret', hook });
            refresh();
          }}
        />
      )}
      {dialog?.kind === 'secret' && <SecretWindow hook={dialog.hook} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'deliveries' && <DeliveriesWindow hook={dialog.hook} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'remove' && (
        <Window title="Remove webhook" isOpen alert onOpenChange={(open) => !open && !remove.isPending && setDialog(null)} size="sm">
          <div className="dialog-body">
            <p>
              Remove the webhook for <strong>{dialog.hook.url}</strong>? Events not yet delivered to it are dropped.
            </p>
            {remove.isError && <Banner>{messageFor(remove.error)}</Banner>}
          </div>
          <footer className="dialog-footer">
            <Button onPress={() => setDialog(null)} isDisabled={remove.isPending}>
              Cancel
            </Button>
            <Button variant="danger" onPress={() => remove.mutate(dialog.hook)} isDisabled={remove.isPending} autoFocus>
              {remove.isPending ? 'Removing…' : 'Remove'}
            </Button>
          </footer>
        </Window>
      )}
    </>
  );
}
