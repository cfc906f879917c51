import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStorage, type Storage } from '../src/db/database.ts';
import { WalCheckpointer } from '../src/db/wal-checkpointer.ts';

const log = pino({ level: 'silent' });

describe('WAL checkpointer (SQLite)', () => {
  let dataDir: string;
  let storage: Storage;
  const dbFile = () => join(dataDir, 'tessera.db');
  const autocheckpoint = () => storage.sqlite!.pragma('wal_autocheckpoint', { simple: true });
  /** 2 MB in one commit: under SQLite's own checkpoint threshold, so it stays in the log. */
  const write2Mb = () => {
    const insert = storage.sqlite!.prepare('insert into blobs (data) values (randomblob(4000))');
    storage.sqlite!.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run();
    })();
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-wal-'));
    storage = openStorage({ databaseUrl: undefined, dataDir });
    storage.sqlite!.exec('create table blobs (data blob)');
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('copies committed pages into the database file from its worker, not in the commit', async () => {
    const checkpointer = new WalCheckpointer(storage.sqlite!, log, 10);
    checkpointer.start();
    expect(checkpointer.running).toBe(true);
    // The server's own commits only checkpoint past the backstop now.
    expect(autocheckpoint()).toBe(10_000);
    const before = statSync(dbFile()).size;
    write2Mb();
    expect(statSync(dbFile()).size).toBe(before);
    await vi.waitFor(() => expect(statSync(dbFile()).size).toBeGreaterThan(before + 2_000_000), { timeout: 5000 });
    await checkpointer.stop();
    expect(checkpointer.running).toBe(false);
    expect(autocheckpoint()).toBe(1000);
  });

  it('leaves the log alone until started, and the server connection with SQLite’s default', async () => {
    const checkpointer = new WalCheckpointer(storage.sqlite!, log, 10);
    expect(autocheckpoint()).toBe(1000);
    const before = statSync(dbFile()).size;
    write2Mb();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(statSync(dbFile()).size).toBe(before);
    await checkpointer.stop();
  });
});
