import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { Grant } from '../../src/auth/permissions.ts';
import { CLI_ACTOR } from '../../src/auth/principal.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createContext, type Context } from '../../src/context.ts';
import type { Writable } from 'node:stream';
import pino from 'pino';
import { createLogger, loggerOptions } from '../../src/http/logging.ts';
import type { Expiration } from '../../src/access-keys/access-key.ts';
import { createPgSchema, type TestDialect } from './databases.ts';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';
export const TEST_PUBLIC_URL = 'http://tessera.test';
export const START = new Date('2026-11-27T12:00:00.000Z');

/** A clock the test moves by hand. */
export interface TestClock {
  (): Date;
  set(date: Date): void;
  advance(ms: number): void;
}

export function testClock(start: Date = START): TestClock {
  let now = new Date(start);
  const clock = (() => new Date(now)) as TestClock;
  clock.set = (date) => void (now = new Date(date));
  clock.advance = (ms) => void (now = new Date(now.getTime() + ms));
  return clock;
}

export interface Harness {
  dialect: TestDialect;
  config: Config;
  ctx: Context;
  app: FastifyInstance;
  clock: TestClock;
  /** Environment for running the CLI against the same database. */
  env: Record<string, string>;
  /** Creates a key directly through the service; returns its id and token. */
  key(roles: Grant[], options?: { name?: string; expiration?: Expiration }): Promise<{ id: string; name: string; token: string }>;
  /** app.inject with a Bearer token. */
  request(token: string | undefined, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

let counter = 0;

/** A real app on a real, empty database (a temp SQLite file, or a fresh PostgreSQL schema). */
export async function createHarness(
  dialect: TestDialect,
  options: { env?: Record<string, string>; clock?: TestClock /** Every log line (trace level, request lines included) goes here. */; log?: Writable } = {},
): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const pgSchema = dialect === 'postgres' ? await createPgSchema() : undefined;
  const env: Record<string, string> = {
    TESSERA_DATA_DIR: dataDir,
    TESSERA_SECRET: TEST_SECRET,
    TESSERA_PUBLIC_URL: TEST_PUBLIC_URL,
    LOG_LEVEL: 'silent',
    ...(pgSchema === undefined ? {} : { DATABASE_URL: pgSchema.url }),
    ...options.env,
  };
  const config = loadConfig(env);
  const clock = options.clock ?? testClock();
  const log = options.log === undefined ? createLogger(config) : pino(loggerOptions({ logLevel: 'trace' }), options.log);
  const ctx = await createContext(config, log, { clock });
  const app = await buildApp(ctx, { logRequests: options.log !== undefined });
  await app.ready();
  return {
    dialect,
    config,
    ctx,
    app,
    clock,
    env,
    async key(roles, keyOptions = {}) {
      const name = keyOptions.name ?? `key-${++counter}`;
      const { key, token } = await ctx.accessKeys.create(CLI_ACTOR, { name, roles, expiration: keyOptions.expiration });
      return { id: key.id, name: key.name, token };
    },
    request(token, injectOptions) {
      const headers = { ...(injectOptions.headers ?? {}), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
      return app.inject({ ...injectOptions, headers });
    },
    async close() {
      await app.close();
      await ctx.close();
      await pgSchema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
