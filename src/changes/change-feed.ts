import { closeSync, openSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Storage } from '../db/database.ts';
import { CHANGE_CHANNEL, EVERYTHING_CHANGED, readNotice, type Change } from './change.ts';
import type { InstanceRegistry } from './instances.ts';

/** What the feed has done since start, for `/readyz` and `/metrics`. */
export interface ChangeFeedStats {
  /** Changes heard from other processes and applied here. */
  applied: number;
  /** Times the listener connection was lost (each followed by a reconnect). */
  disconnects: number;
}

/**
 * Hears the changes other processes commit (the CLI, other instances) and publishes them on
 * this process's change bus, so that caches never serve what another process changed.
 */
export interface ChangeFeed {
  start(): Promise<void>;
  /** Called at the start of every request (the access-control hook): on SQLite this is where other processes' commits are seen. */
  sync(): void;
  /**
   * Publishes every change other processes committed before this call to this process's subscribers;
   * resolves true once done, false when it cannot tell (PostgreSQL's listener is down: read
   * the database instead). A round trip on PostgreSQL: for rare requests that must not lag
   * (the JWKS), not the hot path.
   */
  caughtUp(): Promise<boolean>;
  /** False while changes of other processes could be missed: caches must then not be trusted. */
  readonly live: boolean;
  readonly stats: ChangeFeedStats;
  /** Called with the milliseconds from another process's NOTIFY to its change applied here (PostgreSQL only). */
  onApplied(listener: (lagMs: number) => void): void;
  stop(): Promise<void>;
}

/**
 * The bytes of a WAL database's wal-index header read on every request: the first of its two
 * copies of the WalIndexHdr (https://www.sqlite.org/walformat.html, "the WAL-index header").
 * Every commit rewrites it (its change counter, last frame and checksums) before the commit
 * returns, since that is how other connections learn of it.
 */
const WAL_INDEX_HEADER_BYTES = 48;

/**
 * SQLite: `PRAGMA data_version` changes whenever another connection commits; then every cache is
 * dropped. That pragma opens a read transaction (three system calls: two locks and a stat), so
 * each request first reads the wal-index header from the `-shm` file (one `pread`): while its
 * bytes are those seen at the last check, no connection has committed since, and the pragma is
 * skipped. Any difference, a torn read included, is settled by the pragma. Without a `-shm`
 * file (an in-memory database) every request asks the pragma.
 */
export class SqliteChangeFeed implements ChangeFeed {
  readonly live = true;
  readonly stats: ChangeFeedStats = { applied: 0, disconnects: 0 };
  #version = -1;
  readonly #statement;
  readonly #shmFile: string;
  #shm: number | undefined;
  readonly #header = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  readonly #seen = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  constructor(
    storage: Storage,
    private readonly publish: (change: Change) => void,
  ) {
    if (storage.sqlite === undefined) throw new TypeError('SqliteChangeFeed needs a SQLite storage');
    this.#statement = storage.sqlite.prepare('PRAGMA data_version').pluck();
    this.#shmFile = `${storage.sqlite.name}-shm`;
  }
  async start(): Promise<void> {
    // The connection has read by now (the migrations), so the file exists, and it holds it open
    // and mapped from then on: the file is never removed or replaced under this descriptor. The
    // header is read before the version, so a commit between the two is in the version.
    try {
      this.#shm = openSync(this.#shmFile, 'r');
      if (readSync(this.#shm, this.#seen, 0, WAL_INDEX_HEADER_BYTES, 0) !== WAL_INDEX_HEADER_BYTES) this.#closeShm();
    } catch {
      this.#closeShm();
    }
    this.#version = this.#statement.get() as number;
  }
  sync(): void {
    if (this.#shm !== undefined) {
      readSync(this.#shm, this.#header, 0, WAL_INDEX_HEADER_BYTES, 0);
      if (this.#header.equals(this.#seen)) return;
      // Taken before the pragma: a commit between the two is seen by the pragma now, and by
      // the header's next difference again (then harmlessly: the version is unchanged).
      this.#header.copy(this.#seen);
    }
    const version = this.#statement.get() as number;
    if (version !== this.#version) {
      this.#version = version;
      this.stats.applied++;
      this.publish(EVERYTHING_CHANGED);
    }
  }
  async caughtUp(): Promise<boolean> {
    this.sync();
    return true;
  }
  onApplied(): void {
    // SQLite instances share one file on one machine: there is no lag to measure.
  }
  async stop(): Promise<void> {
    this.#closeShm();
  }
  #closeShm(): void {
    if (this.#shm !== undefined) closeSync(this.#shm);
    this.#shm = undefined;
  }
}

/** `tessera-listen:<pid>:<host>`, the listener connection's application_name (at most 63 characters). */
export function listenerApplicationName(pid: number = process.pid): string {
  return `tessera-listen:${pid}:${hostname()}`.slice(0, 63);
}

export interface PostgresChangeFeedOptions {
  /** How often the listener connection is checked with a query (a silent network loss raises no socket error). */
  heartbeatMs?: number;
  /** A heartbeat or connect slower than this counts as a lost connection. */
  timeoutMs?: number;
  /**
   * This instance's row in `instances`: told each numbered change applied (so that writers
   * waiting for it go on), and asked whether the caches are confirmed (not live otherwise).
   */
  instances?: InstanceRegistry;
}

/**
 * PostgreSQL: LISTEN on a dedicated connection. The connection is checked by a heartbeat;
 * on loss the feed stops being `live` at once (callers then check key state in SQL), drops
 * every cache, and reconnects with backoff; once listening again it drops every cache once
 * more, since whatever changed meanwhile was not heard.
 */
export class PostgresChangeFeed implements ChangeFeed {
  readonly stats: ChangeFeedStats = { applied: 0, disconnects: 0 };
  #client: pg.Client | undefined;
  #live = false;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #attempt = 0;
  readonly #lagListeners: Array<(lagMs: number) => void> = [];
  readonly #heartbeatMs: number;
  readonly #timeoutMs: number;
  readonly #instances: InstanceRegistry | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly publish: (change: Change) => void,
    private readonly log: Logger,
    options: PostgresChangeFeedOptions = {},
  ) {
    this.#heartbeatMs = options.heartbeatMs ?? 5000;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#instances = options.instances;
  }

  /** Listening, and (with a registry) confirmed by a recent heartbeat not to be behind. */
  get live(): boolean {
    return this.#live && (this.#instances?.confirmed ?? true);
  }

  onApplied(listener: (lagMs: number) => void): void {
    this.#lagListeners.push(listener);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#connect();
    this.#heartbeat = setInterval(() => void this.#beat(), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  sync(): void {}

  async caughtUp(): Promise<boolean> {
    const client = this.#client;
    if (client === undefined || !this.#live) return false;
    try {
      // A commit signals the listening backends before it is acknowledged, and a backend sends
      // the notifications it was signalled before it answers its next query: by this answer,
      // every change committed before the call has been heard (and published, in order).
      await client.query('select 1');
      return this.#client === client;
    } catch {
      return false;
    }
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      keepAlive: true,
      connectionTimeoutMillis: this.#timeoutMs,
      // Names this instance's listener in pg_stat_activity (operators, and tests that cut it).
      application_name: listenerApplicationName(),
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, undefined));
    client.on('notification', (message) => this.#heard(message));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (error) {
      this.#discard(client);
      throw error;
    }
    if (this.#stopped) {
      this.#discard(client);
      return;
    }
    this.#client = client;
    this.#attempt = 0;
    this.#live = true;
    // Whatever changed while nobody listened is unknown: drop everything once.
    this.publish(EVERYTHING_CHANGED);
  }

  #heard(message: pg.Notification): void {
    if (message.channel !== CHANGE_CHANNEL || message.payload === undefined) return;
    const { change, at, seq } = readNotice(message.payload);
    this.publish(change);
    this.stats.applied++;
    // Acknowledged only now that the caches it names are dropped.
    if (seq !== undefined) this.#instances?.applied(seq);
    if (at !== undefined) {
      const lag = Math.max(0, Date.now() - at);
      for (const listener of this.#lagListeners) listener(lag);
    }
  }

  /** A query on the listener connection: a silent network loss shows up here, not as a socket error. */
  async #beat(): Promise<void> {
    const client = this.#client;
    if (client === undefined || this.#stopped) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query('select 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`heartbeat got no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
        }),
      ]);
    } catch (error) {
      this.#lost(client, error as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  #lost(client: pg.Client, error: Error | undefined): void {
    // Events of a client already given up (or of a failed connect attempt) change nothing.
    if (this.#client !== client) return;
    this.#live = false;
    this.#client = undefined;
    this.stats.disconnects++;
    this.publish(EVERYTHING_CHANGED);
    this.#discard(client);
    if (this.#stopped) return;
    this.log.warn({ err: error?.message }, 'change listener lost its connection; checking key state in SQL until it reconnects');
    this.#scheduleReconnect();
  }

  #discard(client: pg.Client): void {
    client.removeAllListeners();
    client.on('error', () => {});
    client.end().catch(() => {});
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#retry !== undefined) return;
    const delay = Math.min(5000, 50 * 2 ** this.#attempt++);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect()
        .then(() => {
          if (this.#live) this.log.info('change listener reconnected');
        })
        .catch((error: Error) => {
          this.log.debug({ err: error.message }, 'change listener could not reconnect yet');
          this.#scheduleReconnect();
        });
    }, delay);
    this.#retry.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#retry = undefined;
    this.#heartbeat = undefined;
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
