import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// Users' tokens (POST /api/v1/token) are revoked by time: a token whose `iat` is before the
// user's tokens_valid_after is refused. Set when the password changes and when the user signs
// out everywhere; null (every unexpired token valid) until then. Read with the user row that
// each user-token request already reads, so revocation costs no query of its own.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('tokens_valid_after', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('tokens_valid_after').execute();
}
