import { closeSync, cpSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/http/logging.ts';
import { generate, type BenchKeys, type GenerateReport, type GenerateTarget } from './generate.ts';

export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';
export const BENCH_PUBLIC_URL = 'http://bench.tessera.test';
/** The servers' /metrics credential, so that the benchmark can read their cache and change counters. */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789';

/** A Tessera database made for the benchmark, and the environment a server needs to open it. */
export interface Dataset {
  dialect: 'sqlite' | 'postgres';
  env: Record<string, string>;
  /** SQLite: the database file. */
  file: string | undefined;
  keys: BenchKeys;
  report: GenerateReport;
  /** A copy with its own file (SQLite) sharing nothing with this one; PostgreSQL: the same schema. */
  copy(): Dataset;
  /** Reads the whole database into the kernel's page cache, as a server in use holds it; what was read, or why not. */
  warm(): Promise<{ mb: number } | { skipped: string }>;
  drop(): Promise<void>;
}

/** Is a PostgreSQL server reachable at `url`? */
export async function postgresReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Writes out what the generator left in memory: up to a gigabyte of new pages (and, on
 * PostgreSQL, the next checkpoint's work). Left to the kernel and the checkpointer, that
 * writing takes the disk and a core during whichever rounds come next, and a server whose
 * own commit waits for it stalls.
 */
async function settle(dialect: 'sqlite' | 'postgres', postgresUrl: string): Promise<void> {
  if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    try {
      await admin.query('checkpoint');
    } finally {
      await admin.end();
    }
  }
  settleDisk();
}

/** Writes out every dirty file page (the kernel's own writeback would run during a measurement, on any core). */
export function settleDisk(): void {
  spawnSync('sync');
}

/** Reads a file from start to end (into the kernel's page cache); its size in bytes. */
function readThrough(file: string): number {
  const fd = openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(4 * 2 ** 20);
  let total = 0;
  try {
    for (let read: number; (read = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) total += read;
  } finally {
    closeSync(fd);
  }
  return total;
}

/** Makes a fresh database (a temp SQLite folder, or a new PostgreSQL schema) and fills it. */
export async function makeDataset(dialect: 'sqlite' | 'postgres', target: GenerateTarget, postgresUrl: string): Promise<Dataset> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const env: Record<string, string> = {
    TESSERA_DATA_DIR: dir,
    TESSERA_SECRET: BENCH_SECRET,
    TESSERA_PUBLIC_URL: BENCH_PUBLIC_URL,
    TESSERA_METRICS_TOKEN: BENCH_METRICS_TOKEN,
  };
  let schema: string | undefined;
  if (dialect === 'postgres') {
    schema = `bench_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    env['DATABASE_URL'] = url.toString();
  }
  const config = loadConfig(env);
  const ctx = await createContext(config, createLogger({ logLevel: 'warn' }), { listen: false });
  let generated: Awaited<ReturnType<typeof generate>>;
  try {
    generated = await generate(ctx, target);
  } finally {
    await ctx.close();
  }
  await settle(dialect, postgresUrl);
  const dirs = [dir];
  const dataset = (envOf: Record<string, string>): Dataset => ({
    dialect,
    env: envOf,
    file: dialect === 'sqlite' ? join(envOf['TESSERA_DATA_DIR']!, 'tessera.db') : undefined,
    keys: generated.keys,
    report: generated.report,
    copy: () => {
      if (dialect === 'postgres') return dataset(envOf);
      const copyDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
      dirs.push(copyDir);
      cpSync(join(dir, 'tessera.db'), join(copyDir, 'tessera.db'));
      return dataset({ ...envOf, TESSERA_DATA_DIR: copyDir });
    },
    warm: async () => {
      if (dialect === 'sqlite') return { mb: readThrough(join(envOf['TESSERA_DATA_DIR']!, 'tessera.db')) / 2 ** 20 };
      // pg_prewarm 'read': every table and index of the schema through the kernel's cache (the
      // server's shared buffers are far smaller than a million keys).
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      try {
        await admin.query('create extension if not exists pg_prewarm');
        const { rows } = await admin.query<{ blocks: number }>(
          `select coalesce(sum(pg_prewarm(c.oid, 'read')), 0)::int as blocks from pg_class c where c.relnamespace = $1::regnamespace and c.relkind in ('r', 'i')`,
          [schema],
        );
        return { mb: ((rows[0]?.blocks ?? 0) * 8192) / 2 ** 20 };
      } catch (error) {
        return { skipped: `pg_prewarm: ${error instanceof Error ? error.message : String(error)}` };
      } finally {
        await admin.end();
      }
    },
    drop: async () => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
      if (schema !== undefined) {
        const admin = new pg.Client({ connectionString: postgresUrl });
        await admin.connect();
        await admin.query(`drop schema if exists ${schema} cascade`);
        await admin.end();
        schema = undefined;
      }
    },
  });
  return dataset(env);
}
