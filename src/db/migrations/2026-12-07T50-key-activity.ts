import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// What each access key did (issue 18): its requests counted per hour, route template, status,
// client address and cloud account. The primary key is the grouping itself, so that instances
// flushing the same group add to one row. `account_id` is '' when the request had no account
// (a primary key column cannot be null on PostgreSQL). `hour` leads an index of its own for the
// retention sweep, which deletes whole hours.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('access_key_activity')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('hour', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('first_seen', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('access_key_activity_pk', ['key_id', 'hour', 'method', 'route', 'status', 'ip', 'account_id'])
    .execute();
  await db.schema.createIndex('access_key_activity_hour').on('access_key_activity').column('hour').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('access_key_activity').ifExists().execute();
}
