import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Storage } from './database.ts';

/** What a 503 `database_unavailable` tells a client to wait before trying again (`Retry-After`, seconds). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** How often, during an outage, the database is asked whether it answers again. */
const PROBE_INTERVAL_MS = 1000;

/** Socket-level failures: the server is down, restarting, or out of reach. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * SQLSTATE classes of a database that cannot serve right now: 08 connection exception,
 * 53 insufficient resources (disk full, too many connections), 57P admin or crash shutdown
 * and "starting up", 58 system error (I/O).
 */
const PG_UNAVAILABLE = /^(08|53|57P0[1-4]|58)/;

/**
 * SQLite result codes that mean "not now" rather than "wrong": locked beyond busy_timeout,
 * disk (or max_page_count) full, I/O error, out of memory, a file that cannot be opened or
 * written. (A corrupt database is not among them: retrying does not help.)
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|NOMEM|CANTOPEN|READONLY|PROTOCOL)/;

/** node-postgres's own messages for a connection it lost or could not make. */
const PG_CLIENT_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'is not queryable',
  'Client was closed',
  'Connection terminated due to connection timeout',
];

/** True when an error says the database cannot serve now (as opposed to a bug or a bad request). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SQLITE_UNAVAILABLE.test(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && PG_UNAVAILABLE.test(code)) return true;
  }
  return typeof message === 'string' && PG_CLIENT_MESSAGES.some((text) => message.includes(text));
}

/**
 * Outages of the database, as seen by this process: the first failure of an outage logs one
 * warning (later ones only count), and a probe then asks the database every second; the
 * outage ends when the probe answers and no request failed for a whole interval, with one
 * info line. Requests are answered 503 `database_unavailable` meanwhile (src/http/problem-handler.ts).
 */
export class DatabaseAvailability {
  /** Outages since start and failures seen in the current (or last) one, for `/metrics` and the log. */
  readonly stats = { outages: 0, failures: 0 };
  #since: number | undefined;
  #lastFailure = 0;
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
  ) {}

  /** True during an outage (from its first failure to a probe that found it over). */
  get down(): boolean {
    return this.#since !== undefined;
  }

  /** Reports a failure that `isDatabaseUnavailable` recognised. */
  readonly failed = (error: unknown): void => {
    this.#lastFailure = Date.now();
    if (this.#since !== undefined) {
      this.stats.failures++;
      return;
    }
    this.#since = this.#lastFailure;
    this.stats.outages++;
    this.stats.failures = 1;
    const reason = error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
    this.log.warn({ reason }, 'database unavailable: answering 503 database_unavailable to requests that need it until it is back');
    if (!this.#closed) this.#scheduleProbe();
  };

  #scheduleProbe(): void {
    this.#probe = setTimeout(() => void this.#check(), PROBE_INTERVAL_MS);
    this.#probe.unref();
  }

  async #check(): Promise<void> {
    this.#probe = undefined;
    if (this.#closed || this.#since === undefined) return;
    let answered = false;
    try {
      await sql`select 1`.execute(this.storage.db);
      answered = true;
    } catch {
      // Still down: probe again.
    }
    if (answered && Date.now() - this.#lastFailure >= PROBE_INTERVAL_MS) {
      this.log.info({ outageMs: Date.now() - this.#since, failures: this.stats.failures }, 'database available again');
      this.#since = undefined;
      return;
    }
    if (!this.#closed) this.#scheduleProbe();
  }

  close(): void {
    this.#closed = true;
    if (this.#probe !== undefined) clearTimeout(this.#probe);
    this.#probe = undefined;
  }
}
