import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { call, sparePort, type Answer } from './helpers/instances.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const ADMIN_EMAIL = 'admin@signals.test';
const ADMIN_PASSWORD = 'signals-admin-password';
/** Key requests sent just before the stop request (fewer than the client's sockets: none waits in its queue). */
const BURST = 40;
/** Password grants in flight when the stop request arrives: each hashes with scrypt (64 MiB), the slowest request there is. */
const SLOW_IN_FLIGHT = 4;
/** How long before the signal the requests are sent: every one has reached the server, the grants are still hashing. */
const SEND_AHEAD_MS = 50;

interface Started {
  npm: ChildProcess;
  url: string;
  dataDir: string;
  exit: Promise<number | null>;
  output(): string;
}

/** `npm start` as the README gives it, in its own process group (as a terminal or a systemd unit runs it). */
async function npmStart(): Promise<Started> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-signals-'));
  const port = await sparePort();
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_SECRET: 'signals-secret-signals-secret-0123456789abcdef',
      TESSERA_PUBLIC_URL: 'https://tessera.signals.test',
      TESSERA_ADMIN_EMAIL: ADMIN_EMAIL,
      TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
    },
  });
  let output = '';
  npm.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  npm.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  // 'close': exited, and its output (and its children's) all read.
  const exit = new Promise<number | null>((done) => npm.once('close', (code) => done(code)));
  const url = `http://127.0.0.1:${port}`;
  // `npm start` builds nothing (the suite's global setup built the server); a busy machine starts slowly.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}:\n${output}`);
    const ready = await call(url, 'GET', '/readyz').catch(() => undefined);
    if (ready?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`npm start did not get ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { npm, url, dataDir, exit, output: () => output };
}

describe('a stop signal to the whole process group under `npm start`', () => {
  let started: Started | undefined;
  afterEach(() => {
    if (started === undefined) return;
    try {
      process.kill(-(started.npm.pid as number), 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    rmSync(started.dataDir, { recursive: true, force: true });
    started = undefined;
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s finishes the requests in flight, flushes the usage counted and exits 0',
    async (signal) => {
      started = await npmStart();
      const { url } = started;
      const grant = { grant_type: 'password', username: ADMIN_EMAIL, password: ADMIN_PASSWORD };
      const admin = (await call(url, 'POST', '/api/v1/token', undefined, grant)).json<{ access_token: string }>().access_token;
      const created = await call(url, 'POST', '/api/v1/access-keys', admin, { name: 'in-flight', roles: [{ role: 'global-viewer' }] });
      expect(created.status, created.body).toBe(201);
      const key = created.json<{ id: string; token: string }>();
      // Uses counted before the stop, not flushed yet (the flush runs every 10 s).
      let accepted = 0;
      for (let i = 0; i < 20; i++) {
        const res = await call(url, 'GET', '/api/v1/cloud-accounts', key.token);
        expect(res.status, res.body).toBe(200);
        accepted++;
      }
      expect(accepted).toBe(20);
      // Connections for the burst, open and accepted beforehand: a request on a connection the
      // server has not accepted yet when it stops listening is not in flight.
      const warm = await Promise.all(Array.from({ length: BURST + SLOW_IN_FLIGHT }, () => call(url, 'GET', '/api/v1/cloud-accounts', key.token)));
      accepted += warm.filter((res) => res.status === 200).length;
      expect(accepted).toBe(20 + BURST + SLOW_IN_FLIGHT);

      const settle = (request: Promise<Answer>) =>
        request.then(
          (res) => ({ status: res.status }),
          (error: Error) => ({ error: error.message }),
        );
      const inFlight = [
        ...Array.from({ length: SLOW_IN_FLIGHT }, () => settle(call(url, 'POST', '/api/v1/token', undefined, grant))),
        ...Array.from({ length: BURST }, () => settle(call(url, 'GET', '/api/v1/cloud-accounts', key.token))),
      ];
      await new Promise((r) => setTimeout(r, SEND_AHEAD_MS));
      // As a terminal's Ctrl-C or systemd's control-group kill: to npm, its shell and the server at once.
      process.kill(-(started.npm.pid as number), signal);
      const answers = await Promise.all(inFlight);
      const code = await started.exit;

      // Every request in flight got a real answer: served, or (arrived after the stop began) 503.
      const log = started.output();
      expect(
        answers.filter((a) => 'error' in a),
        log.slice(-3000),
      ).toEqual([]);
      const statuses = answers.map((a) => (a as { status: number }).status);
      // The grants were still hashing when the signal came: the graceful stop waited for them.
      expect(statuses.slice(0, SLOW_IN_FLIGHT)).toEqual(Array(SLOW_IN_FLIGHT).fill(200));
      expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
      const events = log
        .split('\n')
        .filter((line) => !line.includes('"msg":"request"'))
        .join('\n');
      expect(code, events).toBe(0);
      expect(events).toMatch(/Tessera stopped/);
      // The server's own process is gone with npm.
      await new Promise((r) => setTimeout(r, 100));
      expect(() => process.kill(-(started?.npm.pid as number), 0)).toThrow();

      // The usage of every accepted request was flushed at the stop.
      accepted += statuses.slice(SLOW_IN_FLIGHT).filter((s) => s === 200).length;
      const db = new SQLite(join(started.dataDir, 'tessera.db'), { readonly: true });
      try {
        const row = db.prepare('select use_count, last_used_at from access_keys where id = ?').get(key.id) as { use_count: number; last_used_at: string | null };
        expect(row.use_count).toBe(accepted);
        expect(row.last_used_at).not.toBeNull();
      } finally {
        db.close();
      }
    },
    180_000,
  );
});
