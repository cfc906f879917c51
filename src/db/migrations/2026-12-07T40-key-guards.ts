import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// Guard rails on a key's every use (issue 18): its network allowlist as JSON text (an array of
// canonical addresses and CIDR ranges; null: any address) and its own rate limit (both columns
// null: none).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('access_keys').addColumn('allowed_cidrs', 'text').execute();
  await db.schema.alterTable('access_keys').addColumn('rate_limit_requests', 'integer').execute();
  await db.schema.alterTable('access_keys').addColumn('rate_limit_per_seconds', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const column of ['rate_limit_per_seconds', 'rate_limit_requests', 'allowed_cidrs']) {
    await db.schema.alterTable('access_keys').dropColumn(column).execute();
  }
}
