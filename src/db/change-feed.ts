import pg from 'pg';
import type { Logger } from 'pino';
import type { Storage } from './database.ts';
import { CHANGE_CHANNEL, EVERYTHING_CHANGED, type Change, type Transactions } from './transactions.ts';

const KINDS = new Set<Change['kind']>(['access-key', 'user', 'cloud-account', 'session', 'signing-key', 'any']);

/**
 * Hears the changes other processes commit (the CLI, other instances) and hands them to
 * this process's listeners, so that caches never serve what another process changed.
 */
export interface ChangeFeed {
  start(): Promise<void>;
  /** Call before authenticating a request: on SQLite this is where other processes' commits are seen. */
  sync(): void;
  /** False while changes of other processes could be missed: caches must then not be trusted. */
  readonly live: boolean;
  stop(): Promise<void>;
}

/** SQLite: `PRAGMA data_version` changes whenever another connection commits; then every cache is dropped. */
class SqliteChangeFeed implements ChangeFeed {
  readonly live = true;
  #version = -1;
  readonly #statement;
  constructor(
    storage: Storage,
    private readonly transactions: Transactions,
  ) {
    if (storage.sqlite === undefined) throw new TypeError('SqliteChangeFeed needs a SQLite storage');
    this.#statement = storage.sqlite.prepare('PRAGMA data_version').pluck();
  }
  async start(): Promise<void> {
    this.#version = this.#statement.get() as number;
  }
  sync(): void {
    const version = this.#statement.get() as number;
    if (version !== this.#version) {
      this.#version = version;
      this.transactions.emit(EVERYTHING_CHANGED);
    }
  }
  async stop(): Promise<void> {}
}

/** PostgreSQL: LISTEN on a dedicated connection; reconnects on loss, and is not `live` until it has. */
class PostgresChangeFeed implements ChangeFeed {
  #client: pg.Client | undefined;
  #live = false;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #attempt = 0;

  constructor(
    private readonly databaseUrl: string,
    private readonly transactions: Transactions,
    private readonly log: Logger,
  ) {}

  get live(): boolean {
    return this.#live;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  sync(): void {}

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, undefined));
    client.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL || message.payload === undefined) return;
      try {
        const change = JSON.parse(message.payload) as Change;
        if (KINDS.has(change.kind) && typeof change.id === 'string') this.transactions.emit(change);
      } catch {
        this.transactions.emit(EVERYTHING_CHANGED);
      }
    });
    await client.connect();
    await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    this.#client = client;
    this.#attempt = 0;
    this.#live = true;
    // Whatever changed while nobody listened is unknown: drop everything once.
    this.transactions.emit(EVERYTHING_CHANGED);
  }

  #lost(client: pg.Client, error: Error | undefined): void {
    if (this.#client !== client && this.#client !== undefined) return;
    this.#live = false;
    this.#client = undefined;
    this.transactions.emit(EVERYTHING_CHANGED);
    client.removeAllListeners();
    client.on('error', () => {});
    client.end().catch(() => {});
    if (this.#stopped) return;
    this.log.warn({ err: error?.message }, 'change listener lost its connection; checking key state in SQL until it reconnects');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#retry !== undefined) return;
    const delay = Math.min(5000, 100 * 2 ** this.#attempt++);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect()
        .then(() => this.log.info('change listener reconnected'))
        .catch(() => this.#scheduleReconnect());
    }, delay);
    this.#retry.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    this.#live = false;
    if (client !== undefined) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }
}

export function createChangeFeed(storage: Storage, databaseUrl: string | undefined, transactions: Transactions, log: Logger): ChangeFeed {
  return storage.dialect === 'sqlite'
    ? new SqliteChangeFeed(storage, transactions)
    : new PostgresChangeFeed(databaseUrl as string, transactions, log);
}
