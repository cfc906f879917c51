import type { Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// 1 while a user's password is one Tessera generated and printed once (the first Global Admin
// without TESSERA_ADMIN_PASSWORD, `tessera users create` without a password): the console then
// asks the user to choose their own. Cleared by every password change. Existing users chose
// theirs or were given one long ago, so 0.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('password_generated', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('password_generated').execute();
}
