import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { listenerApplicationName } from '../../src/changes/change-feed.ts';
import { createPgSchema, TEST_PG_URL } from './databases.ts';

/**
 * Real Tessera instances as child processes (`node bin/tessera.js serve`) on one PostgreSQL
 * schema with one shared secret: what a multi-instance deployment is. Used by the scale-out
 * test and by bench/propagation.ts.
 */

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BIN = join(ROOT, 'bin', 'tessera.js');

export const CLUSTER_SECRET = 'cluster-secret-cluster-secret-0123456789abcdef';
export const CLUSTER_PUBLIC_URL = 'https://tessera.cluster.test';
export const CLUSTER_METRICS_TOKEN = 'cluster-metrics-token-0123456789';

export interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
  /** The instance's stderr and stdout so far (for a failing test's message). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Cluster {
  env: Record<string, string>;
  instances: Instance[];
  /** Runs the CLI with the cluster's environment; resolves with its stdout. */
  cli(args: string[]): Promise<string>;
  /** Terminates the change-listener connections of the given instances (a DBA or a network cut would). */
  killListeners(instances: Instance[]): Promise<number>;
  close(): Promise<void>;
}

export async function sparePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: as light-my-request's `json()`, so tests read a body as inject's.
  json<T = any>(): T;
}

/**
 * One HTTP request over a kept-alive connection (lighter than fetch under load).
 * `onResponse` runs the moment the answer's status line and headers have arrived, before its
 * body is read: what a client does next, at the earliest.
 */
export function call(base: string, method: string, path: string, token?: string, body?: unknown, onResponse?: (status: number) => void): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = httpRequest(`${base}${path}`, { method, headers, agent }, (res) => {
      onResponse?.(res.statusCode ?? 0);
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolveAnswer({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Creates a Global Admin key on an instance through the API (with an admin's token); its id and token. */
export async function createAdminKeyOn(on: Instance, adminToken: string, name: string): Promise<{ id: string; token: string }> {
  const res = await call(on.url, 'POST', '/api/v1/access-keys', adminToken, { name, roles: [{ role: 'global-admin' }] });
  if (res.status !== 201) throw new Error(`creating key ${name} on ${on.name} answered ${res.status}: ${res.body}`);
  return res.json<{ id: string; token: string }>();
}

/** An admin-only read of a key: 200 for a Global Admin token, 403 once its roles are reduced, 401 once removed. */
export const readKeyOn = (on: Instance, token: string, id: string) => call(on.url, 'GET', `/api/v1/access-keys/${id}`, token);

export function startInstance(name: string, env: Record<string, string>, port: number): Promise<Instance> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const instance: Instance = {
    name,
    url,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
        child.once('exit', (code) => done(code));
        child.kill(signal);
      }),
  };
  return new Promise((ready, fail) => {
    const deadline = Date.now() + 30_000;
    const poll = () => {
      if (child.exitCode !== null) return fail(new Error(`instance ${name} exited with ${child.exitCode}:\n${output}`));
      call(url, 'GET', '/readyz').then(
        (res) => (res.status === 200 ? ready(instance) : setTimeout(poll, 50)),
        () => (Date.now() > deadline ? fail(new Error(`instance ${name} did not start:\n${output}`)) : setTimeout(poll, 50)),
      );
    };
    poll();
  });
}

/** Starts `count` instances on a fresh PostgreSQL schema (the first one migrates it). */
export async function startCluster(count: number, extraEnv: Record<string, string> = {}): Promise<Cluster> {
  const schema = await createPgSchema();
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
  const env: Record<string, string> = {
    DATABASE_URL: schema.url,
    TESSERA_SECRET: CLUSTER_SECRET,
    TESSERA_PUBLIC_URL: CLUSTER_PUBLIC_URL,
    TESSERA_DATA_DIR: dataDir,
    TESSERA_ADMIN_EMAIL: 'admin@cluster.test',
    TESSERA_ADMIN_PASSWORD: 'cluster-admin-password',
    TESSERA_METRICS_TOKEN: CLUSTER_METRICS_TOKEN,
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  const instances: Instance[] = [];
  const cluster: Cluster = {
    env,
    instances,
    cli: (args) =>
      new Promise((done, fail) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
        child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
        child.on('exit', (code) => (code === 0 ? done(out) : fail(new Error(`tessera ${args.join(' ')} exited with ${code}: ${err}`))));
      }),
    killListeners: async (targets) => {
      const admin = new pg.Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      try {
        // The application_name is the instance's listener's own (its query may show LISTEN or the heartbeat).
        const names = targets.map((t) => listenerApplicationName(t.child.pid));
        const { rows } = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = any($1)', [names]);
        return rows.length;
      } finally {
        await admin.end();
      }
    },
    close: async () => {
      await Promise.all(instances.map((i) => i.stop('SIGKILL')));
      await schema.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    // The first instance migrates the empty schema; the others then start side by side.
    instances.push(await startInstance('A', env, await sparePort()));
    const rest = await Promise.all(Array.from({ length: count - 1 }, async (_, i) => startInstance(String.fromCharCode(66 + i), env, await sparePort())));
    instances.push(...rest);
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

/** The value at quantile q (0..1) of already measured samples. */
export function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** The `kid` in a compact JWS's header. */
export function kidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')).kid as string;
}
