import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import type { Logger } from 'pino';

/** SQLite's own threshold (pages of write-ahead log) for a checkpoint inside a commit. */
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;
/**
 * The threshold while the worker runs: a backstop should it fall behind (~40 MB of log),
 * never reached while it keeps up.
 */
const BACKSTOP_AUTOCHECKPOINT = 10_000;
const DEFAULT_INTERVAL_MS = 100;

// The worker's whole program (CommonJS, run by `eval`: the bundled server has no separate
// file to load). Its own connection copies the log back with PASSIVE checkpoints, which never
// wait for or block the server's readers and writer.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)');
let failed = false;
const timer = setInterval(() => {
  try {
    checkpoint();
    failed = false;
  } catch (error) {
    if (!failed) parentPort.postMessage({ failed: String(error && error.message) });
    failed = true;
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * SQLite: copies the write-ahead log back into the database file from a worker thread with
 * its own connection. Left to SQLite, the commit that takes the log past 1,000 pages does that
 * copy, and its fsyncs, inside the request that committed: measured at a million keys, ~180 µs
 * of every key created, a third of SQLite's share. While the worker runs, the server's
 * connection only checkpoints past a backstop; if the worker stops, SQLite's default returns.
 */
export class WalCheckpointer {
  #worker: Worker | undefined;

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly log: Logger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.#worker !== undefined || this.sqlite.memory) return;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Nothing of the parent's loaders (tsx in development): the program is plain CommonJS.
      execArgv: [],
      workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: this.sqlite.name, intervalMs: this.intervalMs },
    });
    worker.unref();
    worker.on('message', (message: { failed?: string }) => {
      this.log.warn({ reason: message.failed }, 'background WAL checkpoint failed; retrying');
    });
    worker.on('error', (err) => this.log.error({ err }, 'WAL checkpoint worker failed; commits checkpoint again'));
    worker.on('exit', () => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#autocheckpoint(SQLITE_DEFAULT_AUTOCHECKPOINT);
    });
    this.#worker = worker;
    this.#autocheckpoint(BACKSTOP_AUTOCHECKPOINT);
  }

  /** Stops the worker (after its current checkpoint) and gives checkpoints back to commits. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined) return;
    this.#worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Unreferenced, the worker would not keep the process alive until it exits: a shutdown
    // waiting here would end with the event loop, before the usage flush that follows.
    worker.ref();
    worker.postMessage('stop');
    await exited;
    this.#autocheckpoint(SQLITE_DEFAULT_AUTOCHECKPOINT);
  }

  get running(): boolean {
    return this.#worker !== undefined;
  }

  #autocheckpoint(pages: number): void {
    if (this.sqlite.open) this.sqlite.pragma(`wal_autocheckpoint = ${pages}`);
  }
}
