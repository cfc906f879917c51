import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import type { Logger } from 'pino';
import type { CheckpointWorkerData, CheckpointWorkerMessage } from './wal-checkpoint-worker.ts';

/** SQLite's own threshold (pages of write-ahead log) for a checkpoint inside a commit. */
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;
/**
 * The threshold while the worker runs: a backstop should it fall behind (~40 MB of log),
 * never reached while it keeps up.
 */
const BACKSTOP_AUTOCHECKPOINT = 10_000;
const DEFAULT_INTERVAL_MS = 100;

/**
 * The worker's module, built beside the server's bundle (build/wal-checkpoint-worker.mjs from
 * ./wal-checkpoint-worker.ts). Node runs no TypeScript of its own, so the server run from its
 * sources (the tests) starts that built module too.
 */
const WORKER_MODULE = import.meta.url.endsWith('.ts')
  ? new URL('../../build/wal-checkpoint-worker.mjs', import.meta.url)
  : new URL('./wal-checkpoint-worker.mjs', import.meta.url);

/**
 * SQLite: copies the write-ahead log back into the database file from a worker thread with
 * its own connection. Left to SQLite, the commit that takes the log past 1,000 pages does that
 * copy, and its fsyncs, inside the request that committed: a large share of every key created.
 * While the worker runs, the server's connection only checkpoints past a backstop; if the
 * worker stops, SQLite's default returns.
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
    const workerData: CheckpointWorkerData = { file: this.sqlite.name, intervalMs: this.intervalMs };
    // No execArgv of the parent's (a TypeScript loader in development): the module is plain JavaScript.
    const worker = new Worker(WORKER_MODULE, { execArgv: [], workerData });
    worker.unref();
    worker.on('message', (message: CheckpointWorkerMessage) => {
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
