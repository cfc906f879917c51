import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// The console's inventory: credentials (secrets sealed), assets with their network
// configuration and CVEs, and the public cloud policy.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('vendor', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    // AES-256-GCM (SecretBox, purpose "credential") of the vendor fields as JSON.
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    // JSON array of the names of the fields that are set: what responses may show.
    .addColumn('secret_fields', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('credentials_name').on('credentials').columns(['display_name', 'id']).execute();
  await db.schema.createIndex('cloud_accounts_name').on('cloud_accounts').columns(['display_name', 'id']).execute();
  await db.schema.createIndex('cloud_accounts_credential').on('cloud_accounts').column('credential_id').execute();

  await db.schema
    .createTable('assets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('vendor', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('exposure', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('properties', 'text', (c) => c.notNull())
    .addColumn('security_controls', 'text', (c) => c.notNull())
    .addColumn('network', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('assets_account_resource').unique().on('assets').columns(['account_id', 'resource_id']).execute();
  await db.schema.createIndex('assets_name').on('assets').columns(['name', 'id']).execute();
  await db.schema.createIndex('assets_account_name').on('assets').columns(['account_id', 'name', 'id']).execute();

  await db.schema
    .createTable('asset_cves')
    .addColumn('asset_id', 'text', (c) => c.notNull())
    .addColumn('cve_id', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    // CVSS base score in tenths (9.8 -> 98): exact on both dialects.
    .addColumn('cvss_tenths', 'integer')
    .addColumn('description', 'text')
    .addColumn('added_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('asset_cves_pk', ['asset_id', 'cve_id'])
    .execute();
  await db.schema.createIndex('asset_cves_cve').on('asset_cves').column('cve_id').execute();

  await db.schema
    .createTable('policy_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('ports', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['policy_rules', 'asset_cves', 'assets', 'credentials']) {
    await db.schema.dropTable(table).execute();
  }
  for (const index of ['cloud_accounts_name', 'cloud_accounts_credential']) {
    await db.schema.dropIndex(index).execute();
  }
}
