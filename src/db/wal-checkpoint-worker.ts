/**
 * The WAL checkpointer's worker thread (started by `WalCheckpointer`, src/db/wal-checkpointer.ts):
 * its own connection copies the log back into the database file with PASSIVE checkpoints, which
 * never wait for or block the server's readers and writer. Built next to the server's bundle
 * (build/wal-checkpoint-worker.mjs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

export interface CheckpointWorkerData {
  file: string;
  intervalMs: number;
}

/** What the worker reports: a checkpoint failed (once, until one succeeds again). */
export interface CheckpointWorkerMessage {
  failed: string;
}

if (parentPort === null) throw new Error('wal-checkpoint-worker runs as a worker thread of the server');
const port = parentPort;
const { file, intervalMs } = workerData as CheckpointWorkerData;

const db = new SQLite(file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = NORMAL');

let failing = false;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
  } catch (error) {
    if (!failing) port.postMessage({ failed: error instanceof Error ? error.message : String(error) } satisfies CheckpointWorkerMessage);
    failing = true;
  }
}, intervalMs);

// Any message is the request to stop: after the current checkpoint, as messages wait for it.
port.once('message', () => {
  clearInterval(timer);
  db.close();
  port.close();
});
