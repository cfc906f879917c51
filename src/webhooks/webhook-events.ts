import { PostgresAdapter } from 'kysely';
import type { Work } from '../db/transactions.ts';
import { timeOrderedId } from '../util/ids.ts';
import { enqueueForSubscribers, hasSubscribers, type OutboxMessage } from './webhook.repository.ts';
import type { WebhookEventType } from './webhook.ts';

/** A new message id for the `webhook-id` header: time-ordered, so a webhook's deliveries list newest first by id. */
export function newMessageId(now: Date): string {
  return `msg_${timeOrderedId(now.getTime()).replaceAll('-', '')}`;
}

/** The body every attempt sends, byte for byte: `{ type, timestamp, data }`. */
export function webhookMessage(type: string, now: Date, data: object): OutboxMessage {
  const at = now.toISOString();
  return { id: newMessageId(now), type, payload: JSON.stringify({ type, timestamp: at, data }), at };
}

/**
 * Announces an event to every webhook subscribed to `type`: writes it to their outbox inside the
 * unit of work, so it is sent if and only if the change commits (a failed unit takes it back).
 * The sender (src/webhooks/webhook-sender.ts) posts it within about a second, on one instance,
 * retrying for 24 hours with the same `webhook-id`.
 *
 * Call it from the service, inside `transactions.run`, once per event:
 *
 *     await enqueueWebhookEvent(work, 'access_key.rolled', rowToAccessKey(row, work.now));
 *
 * `data` is the access key as the API shows it: never a token or a hash (for
 * `access_key.expiring` also `daysLeft`). Every key change carries it, so it costs one
 * statement in the unit's transaction, written as plain SQL.
 */
export async function enqueueWebhookEvent(work: Pick<Work, 'trx' | 'now'>, type: WebhookEventType, data: object): Promise<void> {
  // SQLite: most installations have no webhook for most events, and a probe spares them building
  // the body and the insert. PostgreSQL: a probe would be one more round trip.
  const postgres = work.trx.getExecutor().adapter instanceof PostgresAdapter;
  if (!postgres && !(await hasSubscribers(work.trx, type))) return;
  await enqueueForSubscribers(work.trx, webhookMessage(type, work.now, data));
}
