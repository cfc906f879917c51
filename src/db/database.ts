import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, sql, SqliteDialect, type SqliteDatabase, type SqliteStatement, type Transaction } from 'kysely';
import pg from 'pg';
import { type Config, sqliteFile } from '../config.ts';
import { BoundedCache } from '../util/bounded-cache.ts';
import { ensurePrivateDir, ensurePrivateFile } from '../util/private-files.ts';
import { migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';

/** The database or an open transaction: repositories accept either. */
export type Db = Kysely<Database> | Transaction<Database>;

export type Dialect = 'sqlite' | 'postgres';

/** An open database: Kysely for queries, plus what only one dialect has. */
export interface Storage {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** SQLite only: the raw handle (for `PRAGMA data_version`, which sees other processes' commits). */
  readonly sqlite: SQLite.Database | undefined;
  /** PostgreSQL only: the pool (LISTEN needs a dedicated client from it). */
  readonly pool: pg.Pool | undefined;
  close(): Promise<void>;
}

/** Prepared SQLite statements kept, by SQL text. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * The SQLite handle as Kysely sees it, with each statement prepared once per SQL text:
 * Kysely asks for a fresh statement for every query it runs, and preparing costs more than
 * running a lookup by key (see bench/REPORT.md). Sharing a statement is safe: Kysely runs
 * one query at a time on its single SQLite connection (a streamed query holds it until done).
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new BoundedCache<string, SqliteStatement>(STATEMENT_CACHE_SIZE);
  return {
    close: () => sqlite.close(),
    prepare(text) {
      let statement = statements.get(text);
      if (statement === undefined) {
        statement = text === 'rollback' ? rollbackIfOpen(sqlite) : sqlite.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

/**
 * Kysely's rollback after a failed transaction. SQLite rolls the whole transaction back by
 * itself on SQLITE_FULL, an I/O error or SQLITE_NOMEM, and a ROLLBACK then fails ("no
 * transaction is active"), which would replace the error that says why (a 503 with a 500).
 */
function rollbackIfOpen(sqlite: SQLite.Database): SqliteStatement {
  const rollback = sqlite.prepare('rollback');
  return {
    reader: false,
    all: () => [],
    iterate: () => [][Symbol.iterator](),
    run: () => (sqlite.inTransaction ? rollback.run() : { changes: 0, lastInsertRowid: 0 }),
  };
}

// PostgreSQL's BIGINT (count(*)) arrives as a string; our counts fit in a double.
pg.types.setTypeParser(20, (value) => Number(value));

/** How long a request waits for a PostgreSQL connection (a new one, or a free one from the pool). */
const POOL_CONNECT_TIMEOUT_MS = 5000;

/**
 * A PostgreSQL pool that a lost connection can never crash: pg emits 'error' on the pool for an
 * idle client, and on the client itself while it is checked out (a Kysely transaction, the
 * scheduler's lock connection, a heartbeat), where the pool listens no more. The query that was
 * running, or the next one, fails instead, and the pool drops the broken client when it comes back.
 * Every pool of the process is made here.
 */
export function openPool(options: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(options);
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Opens the configured database: PostgreSQL when DATABASE_URL is set, else SQLite in the data folder. */
/** Which database a process uses, for a person to read: the SQLite file, or the PostgreSQL host and database (never credentials). */
export function describeDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  if (config.databaseUrl === undefined) return `SQLite database ${sqliteFile(config.dataDir)}`;
  const url = new URL(config.databaseUrl);
  return `PostgreSQL database ${url.host}${url.pathname}`;
}

export function openStorage(config: Pick<Config, 'databaseUrl' | 'dataDir'>, options: { poolSize?: number } = {}): Storage {
  if (config.databaseUrl !== undefined) {
    const pool = openPool({
      connectionString: config.databaseUrl,
      max: options.poolSize ?? 10,
      // An unreachable server (a blip that drops packets) fails a request in bounded time, as 503.
      connectionTimeoutMillis: POOL_CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', sqlite: undefined, pool, close: () => db.destroy() };
  }
  ensurePrivateDir(config.dataDir);
  const file = sqliteFile(config.dataDir);
  ensurePrivateFile(file);
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // 64 MiB of page cache instead of SQLite's 2 MiB: on a large table the indexes a list page or a
  // create walks stay in memory (bounded: counted in the server's RSS budget).
  sqlite.pragma('cache_size = -65536');
  // Each unit of a group commit runs in a savepoint, whose undo log (the sub-journal) otherwise
  // spills to a temporary file past 64 KiB: a file write of every page a unit touches first.
  // A savepoint's pages are bounded by its unit.
  sqlite.pragma('temp_store = MEMORY');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, dialect: 'sqlite', sqlite, pool: undefined, close: () => db.destroy() };
}

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  // On PostgreSQL, pin Kysely's own tables to the current schema: otherwise its "does the
  // migration table exist" check matches the table in ANY schema of the database (another
  // deployment's, or a concurrent test's) and migrating a fresh schema fails.
  const migrationTableSchema =
    db.getExecutor().adapter instanceof PostgresAdapter ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when the error is a unique-index violation, on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
