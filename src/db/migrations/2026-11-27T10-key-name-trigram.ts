import { sql, type Kysely } from 'kysely';
import { PostgresAdapter } from 'kysely';

// Frozen: never edit after it lands; add a new migration instead.
// A trigram index behind the access-keys name filter (a substring of name_key), so that a
// substring matching few keys or none does not read every key.
// - PostgreSQL: pg_trgm's GIN operator class serves `name_key like '%…%'` directly. The
//   extension is database-wide, so it may already live in another schema than this
//   deployment's: the operator class is named by the schema the extension is actually in.
// - SQLite: an FTS5 table with the trigram tokenizer, holding (name_key, id), kept in step by
//   triggers. It is filtered with GLOB (exact, case-sensitive on the lowercased name key; the
//   trigram index serves it from 3 literal characters). A key's row is found again by its
//   exact name key, never by rowid (rowids of a table without an integer primary key may
//   change on VACUUM).
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // Deployments in other schemas of the database may migrate at the same moment: one
    // creates the extension while the others wait (held until this migration commits).
    await sql`select pg_advisory_xact_lock(hashtext('tessera:create-extension:pg_trgm'))`.execute(db);
    // In `public` when allowed: a schema that is dropped (a test's) would take the extension,
    // and every index using it, along.
    const inPublic = await sql<{ ok: boolean }>`
      select coalesce(has_schema_privilege(n.oid, 'CREATE'), false) as ok from pg_namespace n where n.nspname = 'public'`.execute(db);
    if (inPublic.rows[0]?.ok === true) await sql`create extension if not exists pg_trgm with schema public`.execute(db);
    else await sql`create extension if not exists pg_trgm`.execute(db);
    const found = await sql<{ schema: string }>`
      select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
      where e.extname = 'pg_trgm'`.execute(db);
    const schema = found.rows[0]?.schema;
    if (schema === undefined) throw new Error('pg_trgm is not installed');
    await sql`create index access_keys_name_trgm on access_keys using gin (name_key ${sql.id(schema, 'gin_trgm_ops')})`.execute(db);
    return;
  }
  await sql`create virtual table access_keys_name_fts using fts5(name_key, id unindexed, tokenize = 'trigram')`.execute(db);
  await sql`insert into access_keys_name_fts (name_key, id) select name_key, id from access_keys`.execute(db);
  await sql`create trigger access_keys_name_fts_insert after insert on access_keys begin
      insert into access_keys_name_fts (name_key, id) values (new.name_key, new.id);
    end`.execute(db);
  // GLOB with its three special characters bracketed is an exact match of the old name key.
  const removeOld = `delete from access_keys_name_fts
      where name_key glob replace(replace(replace(old.name_key, '[', '[[]'), '*', '[*]'), '?', '[?]')
        and id = old.id;`;
  await sql`create trigger access_keys_name_fts_delete after delete on access_keys begin
      ${sql.raw(removeOld)}
    end`.execute(db);
  await sql`create trigger access_keys_name_fts_update after update of name_key, id on access_keys begin
      ${sql.raw(removeOld)}
      insert into access_keys_name_fts (name_key, id) values (new.name_key, new.id);
    end`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await db.schema.dropIndex('access_keys_name_trgm').execute();
    return;
  }
  for (const trigger of ['access_keys_name_fts_insert', 'access_keys_name_fts_delete', 'access_keys_name_fts_update']) {
    await sql`drop trigger ${sql.id(trigger)}`.execute(db);
  }
  await sql`drop table access_keys_name_fts`.execute(db);
}
