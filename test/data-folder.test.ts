import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

/** Starts a context on `dataDir` (SQLite, generated secret), writes once, and stops it. */
async function runOnce(dataDir: string, walMode = 0o600): Promise<void> {
  const config = loadConfig({ TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const ctx = await createContext(config, createLogger(config));
  try {
    await ctx.users.ensureFirstAdmin('admin@example.com', 'a long enough password');
    // The -wal and -shm files exist while the database is open.
    expect(mode(join(dataDir, 'tessera.db-wal'))).toBe(walMode);
    expect(mode(join(dataDir, 'tessera.db-shm'))).toBe(walMode);
  } finally {
    await ctx.close();
  }
}

// Root bypasses modes when opening files, but stat still shows them: the test holds as root too.
describe('the data folder and the files Tessera creates in it', () => {
  let parent: string;
  let umask: number;
  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'tessera-modes-'));
    // The usual umask, which let SQLite create the database 0644.
    umask = process.umask(0o022);
  });
  afterAll(() => {
    process.umask(umask);
    rmSync(parent, { recursive: true, force: true });
  });

  it('creates a missing folder 0700 and the database, its -wal and -shm and the secret file 0600 (regression: 0755 and 0644)', async () => {
    const dataDir = join(parent, 'new', 'data');
    await runOnce(dataDir);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, 'tessera.db'))).toBe(0o600);
    expect(mode(join(dataDir, 'instance-secret'))).toBe(0o600);
  });

  it("leaves an operator's existing folder as it is, but still creates its files 0600", async () => {
    const dataDir = join(parent, 'operator');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o750);
    await runOnce(dataDir);
    expect(mode(dataDir)).toBe(0o750);
    expect(mode(join(dataDir, 'tessera.db'))).toBe(0o600);
    expect(mode(join(dataDir, 'instance-secret'))).toBe(0o600);
  });

  it('keeps the mode an operator gave an existing database file', async () => {
    const dataDir = join(parent, 'kept');
    await runOnce(dataDir);
    chmodSync(join(dataDir, 'tessera.db'), 0o640);
    // SQLite gives the -wal and -shm files the database file's mode.
    await runOnce(dataDir, 0o640);
    expect(mode(join(dataDir, 'tessera.db'))).toBe(0o640);
  });
});
