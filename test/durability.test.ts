import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WRITER = fileURLToPath(new URL('./helpers/durable-writes.ts', import.meta.url));
const STRACE = '/usr/bin/strace';
/** Writes per run: each its own commit. */
const WRITES = 20;

/** Runs the writer child (test/helpers/durable-writes.ts); under strace, resolves with its fsync + fdatasync calls. */
function writes(dataDir: string, mode: 'create' | 'remove' | 'edit', prefix: string, traced: boolean): Promise<number> {
  const summary = join(dataDir, `strace-${mode}-${prefix}.txt`);
  const node = [process.execPath, '--import', 'tsx', WRITER, mode, String(WRITES), prefix];
  const [command, ...args] = traced ? [STRACE, '-f', '-c', '-e', 'trace=fsync,fdatasync', '-o', summary, ...node] : node;
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, args, {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`durable-writes ${mode} exited with ${code}: ${stderr}`));
      if (!traced) return resolve(0);
      // strace -c: "% time  seconds  usecs/call  calls  errors  syscall", one row per call traced.
      const rows = readFileSync(summary, 'utf8')
        .split('\n')
        .filter((line) => / (fsync|fdatasync)$/.test(line.trim()));
      resolve(rows.reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[3]), 0));
    });
  });
}

/**
 * SQLite in WAL mode with synchronous = NORMAL syncs the WAL only at checkpoints: a commit
 * survives a process crash, not an OS crash or power loss. An access-reducing write must be
 * durable when acknowledged, so its commit must sync the WAL (synchronous = FULL), while other
 * writes keep NORMAL. Observed from the outside: the fsync/fdatasync calls of a real process.
 */
describe('durable access-reducing writes on SQLite (fsync counted by strace)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-durability-'));
    // Keys to remove and to edit later, made (untraced) before.
    await writes(dataDir, 'create', 'removed', false);
    await writes(dataDir, 'create', 'reduced', false);
  }, 60_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it(`each removal and each role reduction syncs the WAL at its commit; a create does not (${WRITES} of each, one process each)`, async () => {
    const creates = await writes(dataDir, 'create', 'created', true);
    const removals = await writes(dataDir, 'remove', 'removed', true);
    const reductions = await writes(dataDir, 'edit', 'reduced', true);
    console.log(`fsync + fdatasync calls per process of ${WRITES} writes: creates ${creates}, removals ${removals}, role reductions ${reductions}`);
    // Opening and closing (its checkpoint) sync a few times in every run; the creates add nothing.
    expect(creates).toBeLessThan(WRITES / 2);
    expect(removals).toBeGreaterThanOrEqual(creates + WRITES);
    expect(reductions).toBeGreaterThanOrEqual(creates + WRITES);
  }, 60_000);
});
