import { sql, PostgresAdapter, type Kysely } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// SQLite: a key's name goes into the trigram table (2026-11-27T10) from the application, once
// per group commit just before it commits (indexAccessKeyNames), no longer from a trigger. FTS5
// writes out its pending index at every statement that may need undoing and at every savepoint:
// written by the trigger, every key created wrote a segment of its own, and the statements
// after it paid for that (~65 µs of each key created, measured with the unit's savepoint and
// audit insert). The delete and update triggers stay: removals are rare and names never change.
// PostgreSQL's trigram index is an ordinary index; nothing to do.
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  await sql`drop trigger access_keys_name_fts_insert`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  await sql`create trigger access_keys_name_fts_insert after insert on access_keys begin
      insert into access_keys_name_fts (name_key, id) values (new.name_key, new.id);
    end`.execute(db);
}
