import { sql, PostgresAdapter, type Kysely } from 'kysely';
import { comparisonKey } from '../../util/names.ts';

// Frozen: never edit after it lands; add a new migration instead.
// Access-key names and user emails are compared for uniqueness (and looked up) after NFKC and
// case folding (src/util/names.ts) instead of NFC and lower case, so that `ｃｉ-ｂｏｔ` and
// `ci-bot` are one name. The keys (access_keys.name_key, users.email_key) are computed by the
// application, so they are recomputed here; the unique indexes and the name indexes stay as they
// are. Only a value with a character outside printable ASCII can fold differently (ASCII folds
// to its lower case, which the old key already was), so only those rows are rewritten: none or
// a few in practice. Finding them is one scan of the names, once (measured at a million ASCII
// names: ~0.5 s on SQLite, ~0.8 s on PostgreSQL). On SQLite the trigram table follows name_key by
// its update trigger (2026-11-27T10).
// Two values distinct before but one now (say `ci-bot` and a full-width `ｃｉ-ｂｏｔ` created before
// this) both stay: the one whose folded key is already taken keeps its old key, which no new
// name can fold to (folded keys are stable under folding; an old key that differs is not).
// `keys remove`/`keys edit` find such a key by its exact name (AccessKeyService.getByName); such
// a user signs in as the other address and needs a new user (emails cannot be edited).
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const beyondAscii = (column: string) => (postgres ? sql<boolean>`${sql.ref(column)} !~ '^[ -~]*$'` : sql<boolean>`${sql.ref(column)} glob '*[^ -~]*'`);
  await refold(db, 'access_keys', 'name', 'name_key', beyondAscii('name'));
  await refold(db, 'users', 'email', 'email_key', beyondAscii('email'));
}

async function refold(db: Kysely<any>, table: string, column: string, keyColumn: string, beyondAscii: ReturnType<typeof sql<boolean>>): Promise<void> {
  const rows = (await db
    .selectFrom(table)
    .select(['id', `${column} as value`, `${keyColumn} as key`])
    .where(beyondAscii)
    .orderBy('created_at')
    .orderBy('id')
    .execute()) as Array<{ id: string; value: string; key: string }>;
  for (const row of rows) {
    const folded = comparisonKey(row.value.trim());
    if (folded === row.key) continue;
    const taken = await db.selectFrom(table).select('id').where(keyColumn, '=', folded).where('id', '!=', row.id).executeTakeFirst();
    if (taken !== undefined) continue;
    await db
      .updateTable(table)
      .set({ [keyColumn]: folded })
      .where('id', '=', row.id)
      .execute();
  }
}

// The folded keys cannot be turned back into the old ones without the rule that made them; they
// stay (the code before this migration looks keys up by NFC and lower case, which for the rows
// changed here finds nothing: those few are reached by id).
export async function down(): Promise<void> {}
