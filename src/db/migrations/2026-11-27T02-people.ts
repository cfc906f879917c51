import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// Sessions and invitations (both found by the SHA-256 of a secret the client holds), and
// the indexes behind the audit log's filters.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sessions')
    // Hex SHA-256 of the cookie's value: a database reader cannot sign in with it.
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
  await db.schema.createIndex('sessions_last_seen').on('sessions').column('last_seen_at').execute();

  await db.schema
    .createTable('invitations')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  // One live invitation per user: a new link replaces the old one.
  await db.schema.createIndex('invitations_user').unique().on('invitations').column('user_id').execute();

  await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'at', 'id']).execute();
  await db.schema.createIndex('audit_events_category').on('audit_events').columns(['category', 'at', 'id']).execute();
  await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'at', 'id']).execute();
  await db.schema.createIndex('users_created').on('users').columns(['created_at', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of ['audit_events_actor', 'audit_events_category', 'audit_events_action', 'users_created']) {
    await db.schema.dropIndex(index).execute();
  }
  await db.schema.dropTable('invitations').execute();
  await db.schema.dropTable('sessions').execute();
}
