import { sql, type Kysely, type SqlBool, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database, WebhookDeliveryAttemptRow, WebhookDeliveryRow, WebhookRow } from '../db/schema.ts';
import type { Delivery, DeliveryStatus, Webhook, WebhookEventType } from './webhook.ts';

export function rowToWebhook(row: WebhookRow, events: readonly string[]): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: events as WebhookEventType[],
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function rowToDelivery(row: WebhookDeliveryRow, attempts: readonly WebhookDeliveryAttemptRow[]): Delivery {
  return {
    id: row.id,
    type: row.event_type,
    createdAt: row.created_at,
    status: row.status as DeliveryStatus,
    attempts: attempts.map((a) => ({ at: a.at, statusCode: a.status_code, error: a.error, durationMs: a.duration_ms })),
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
    deliveredAt: row.delivered_at,
  };
}

export async function insertWebhook(db: Db, row: WebhookRow, events: readonly WebhookEventType[]): Promise<void> {
  await db.insertInto('webhooks').values(row).execute();
  await replaceSubscriptions(db, row.id, events);
}

export async function replaceSubscriptions(db: Db, webhookId: string, events: readonly WebhookEventType[]): Promise<void> {
  await db.deleteFrom('webhook_subscriptions').where('webhook_id', '=', webhookId).execute();
  if (events.length > 0) {
    await db
      .insertInto('webhook_subscriptions')
      .values(events.map((event_type) => ({ event_type, webhook_id: webhookId })))
      .execute();
  }
}

export async function findWebhookRow(db: Db, id: string): Promise<WebhookRow | undefined> {
  return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function countWebhooks(db: Db): Promise<number> {
  const row = await db
    .selectFrom('webhooks')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Each webhook's event types, in the stored order of WEBHOOK_EVENT_TYPES applied by the caller. */
export async function subscriptionsOf(db: Db, ids: readonly string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return result;
  const rows = await db.selectFrom('webhook_subscriptions').select(['webhook_id', 'event_type']).where('webhook_id', 'in', ids).execute();
  for (const row of rows) result.get(row.webhook_id)?.push(row.event_type);
  return result;
}

export async function listWebhookRows(db: Db): Promise<WebhookRow[]> {
  return db.selectFrom('webhooks').selectAll().orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
}

export async function updateWebhookRow(db: Db, id: string, patch: Partial<Pick<WebhookRow, 'url' | 'description' | 'updated_at'>>): Promise<void> {
  await db.updateTable('webhooks').set(patch).where('id', '=', id).execute();
}

/** Deletes a webhook with its subscriptions and its deliveries, pending ones included. */
export async function deleteWebhook(db: Db, id: string): Promise<void> {
  await db.deleteFrom('webhook_delivery_attempts').where('webhook_id', '=', id).execute();
  await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
  await db.deleteFrom('webhook_subscriptions').where('webhook_id', '=', id).execute();
  await db.deleteFrom('webhooks').where('id', '=', id).execute();
}

export interface OutboxMessage {
  id: string;
  type: string;
  payload: string;
  at: string;
}

/** Whether any webhook receives `type`: one probe of the primary key. */
export async function hasSubscribers(trx: Transaction<Database>, type: string): Promise<boolean> {
  const { rows } = await sql<{ found: number }>`select 1 as found from webhook_subscriptions where event_type = ${type} limit 1`.execute(trx);
  return rows.length > 0;
}

/**
 * Writes one message to the outbox of every webhook subscribed to its type, in one statement.
 * Raw SQL: this runs inside every key change, and a query builder's work costs more than the
 * statement. Parameters in a select list are cast, as PostgreSQL cannot otherwise tell their type.
 */
export async function enqueueForSubscribers(trx: Transaction<Database>, message: OutboxMessage): Promise<void> {
  await sql`insert into webhook_deliveries (webhook_id, id, event_type, payload, created_at, status, attempt_count, next_attempt_at)
    select webhook_id, cast(${message.id} as text), cast(${message.type} as text), cast(${message.payload} as text), cast(${message.at} as text), 'pending', 0, cast(${message.at} as text)
    from webhook_subscriptions where event_type = ${message.type}`.execute(trx);
}

/** Writes one message to one webhook's outbox (a test event). */
export async function enqueueForWebhook(db: Db, webhookId: string, message: OutboxMessage): Promise<WebhookDeliveryRow> {
  const row: WebhookDeliveryRow = {
    webhook_id: webhookId,
    id: message.id,
    event_type: message.type,
    payload: message.payload,
    created_at: message.at,
    status: 'pending',
    attempt_count: 0,
    next_attempt_at: message.at,
    last_attempt_at: null,
    last_status_code: null,
    delivered_at: null,
  };
  await db.insertInto('webhook_deliveries').values(row).execute();
  return row;
}

export type DueDelivery = WebhookDeliveryRow & { url: string; secret_sealed: string };

/** Pending deliveries whose next attempt is due, oldest due first. */
export async function dueDeliveries(db: Db, now: Date, limit: number): Promise<DueDelivery[]> {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .selectAll('d')
    .select(['w.url', 'w.secret_sealed'])
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', now.toISOString())
    .orderBy('d.next_attempt_at', 'asc')
    .orderBy('d.id', 'asc')
    .limit(limit)
    .execute();
}

export interface AttemptRecord {
  at: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The delivery's state after this attempt. */
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

/** Records an attempt and the delivery's new state, together. */
export async function recordAttempt(
  db: Kysely<Database>,
  delivery: Pick<WebhookDeliveryRow, 'webhook_id' | 'id' | 'attempt_count'>,
  attempt: AttemptRecord,
): Promise<void> {
  const at = attempt.at.toISOString();
  await db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('webhook_deliveries')
      .set({
        attempt_count: delivery.attempt_count + 1,
        status: attempt.status,
        last_attempt_at: at,
        last_status_code: attempt.statusCode,
        next_attempt_at: attempt.nextAttemptAt?.toISOString() ?? null,
        delivered_at: attempt.status === 'delivered' ? at : null,
      })
      .where('webhook_id', '=', delivery.webhook_id)
      .where('id', '=', delivery.id)
      .executeTakeFirst();
    // The webhook was removed during the attempt: nothing left to record it against.
    if (Number(updated.numUpdatedRows) === 0) return;
    await trx
      .insertInto('webhook_delivery_attempts')
      .values({
        webhook_id: delivery.webhook_id,
        delivery_id: delivery.id,
        attempt: delivery.attempt_count + 1,
        at,
        status_code: attempt.statusCode,
        error: attempt.error,
        duration_ms: attempt.durationMs,
      })
      .execute();
  });
}

export interface DeliveryQuery {
  limit: number;
  /** The last id of the previous page (newest first). */
  before: string | undefined;
  status: DeliveryStatus | undefined;
}

/** One page of a webhook's deliveries, newest first, each with its attempts in order. */
export async function listDeliveries(db: Db, webhookId: string, q: DeliveryQuery): Promise<Array<{ row: WebhookDeliveryRow; attempts: WebhookDeliveryAttemptRow[] }>> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.before !== undefined) query = query.where(sql<SqlBool>`id < ${q.before}`);
  const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
  if (rows.length === 0) return [];
  const attempts = await db
    .selectFrom('webhook_delivery_attempts')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .where(
      'delivery_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('attempt', 'asc')
    .execute();
  const byDelivery = new Map<string, WebhookDeliveryAttemptRow[]>();
  for (const attempt of attempts) {
    const list = byDelivery.get(attempt.delivery_id) ?? [];
    list.push(attempt);
    byDelivery.set(attempt.delivery_id, list);
  }
  return rows.map((row) => ({ row, attempts: byDelivery.get(row.id) ?? [] }));
}

/** Deletes finished deliveries (delivered or failed) of events older than `before`, with their attempts. */
export async function pruneDeliveries(db: Db, before: Date): Promise<number> {
  const cutoff = before.toISOString();
  await db
    .deleteFrom('webhook_delivery_attempts')
    .where(sql<SqlBool>`(webhook_id, delivery_id) in (select webhook_id, id from webhook_deliveries where status <> 'pending' and created_at < ${cutoff})`)
    .execute();
  const result = await db.deleteFrom('webhook_deliveries').where('status', '<>', 'pending').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
