import { closeSync, mkdirSync, openSync } from 'node:fs';

/**
 * Creates the data folder (and missing parents) with mode 0700: it holds password hashes, the
 * audit log and the instance secret. A folder that exists already is the operator's choice
 * and is left as it is.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Creates `file` empty with mode 0600 unless it exists. For the SQLite database this runs
 * before SQLite opens it: SQLite would create it 0644, and gives the -wal and -shm files the
 * mode of the database file, so they are 0600 too. An existing file keeps its mode.
 */
export function ensurePrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
