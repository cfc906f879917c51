import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// Webhooks (src/webhooks/). `webhook_subscriptions` holds one row per webhook and event type, so
// that a change fans out to its subscribers in one INSERT … SELECT by the primary key.
// `webhook_deliveries` is the outbox: written in the transaction of the change it reports, one
// row per subscribed webhook, keyed by (webhook, webhook-id) since one event is one message id
// for every webhook (as Standard Webhooks' reference senders do). Its payload is the exact body
// signed and sent on every attempt. `webhook_delivery_attempts` is each attempt's outcome.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    // The whsec_ secret, AES-256-GCM sealed under the instance secret (it must be read to sign).
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('webhook_subscriptions')
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_subscriptions_pk', ['event_type', 'webhook_id'])
    .execute();
  await db.schema.createIndex('webhook_subscriptions_by_webhook').on('webhook_subscriptions').columns(['webhook_id']).execute();
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    // The webhook-id header: the same on every attempt.
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    // 'pending', 'delivered' or 'failed'
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text')
    .addColumn('last_attempt_at', 'text')
    .addColumn('last_status_code', 'integer')
    .addColumn('delivered_at', 'text')
    .addPrimaryKeyConstraint('webhook_deliveries_pk', ['webhook_id', 'id'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema
    .createTable('webhook_delivery_attempts')
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_delivery_attempts_pk', ['webhook_id', 'delivery_id', 'attempt'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_delivery_attempts').ifExists().execute();
  await db.schema.dropTable('webhook_deliveries').ifExists().execute();
  await db.schema.dropTable('webhook_subscriptions').ifExists().execute();
  await db.schema.dropTable('webhooks').ifExists().execute();
}
