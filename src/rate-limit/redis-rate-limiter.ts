import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MemoryRateLimiter, type RateLimiter, type WindowCount } from './rate-limiter.ts';

/**
 * One round trip, atomic: count the hit and, when this hit opened the window (or the key
 * somehow has no expiry), set the window's expiry. Returns the count and the milliseconds left.
 * (Equivalent to INCR + PEXPIRE NX, but also works on Redis before 7.)
 */
const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/** One round trip: the count and the milliseconds left of an open window (nil when none). */
const GET_SCRIPT = `
local count = redis.call('GET', KEYS[1])
if not count then return nil end
return {tonumber(count), redis.call('PTTL', KEYS[1])}
`;

export interface RedisRateLimiterOptions {
  /** Prefix of every key (tests use a unique one; deployments sharing one Redis can too). */
  keyPrefix?: string;
  /** A command slower than this counts as a failure: sign-in must not hang on Redis. */
  commandTimeoutMs?: number;
}

/** How the limiter currently counts: in Redis (shared), or in process because Redis is unreachable. */
export type RateLimiterBackend = 'redis' | 'memory-fallback';

/**
 * Counts in Redis, so that every instance sees one count per key. When Redis is unreachable
 * the limiter degrades to per-instance counting (a warning in the log, never an error to the
 * caller) and goes back to Redis as soon as the connection is ready again.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #fallback: MemoryRateLimiter;
  #degraded = false;
  #closed = false;
  /** Settles when the first connection is ready or has failed: until then callers wait (briefly) for it. */
  readonly #firstConnection: Promise<void>;
  #settleFirstConnection: () => void = () => {};
  readonly #commandTimeoutMs: number;
  /** How many times the limiter fell back to in-process counting (for the metrics). */
  fallbacks = 0;

  constructor(
    url: string,
    private readonly clock: () => Date,
    private readonly log: Logger,
    options: RedisRateLimiterOptions = {},
  ) {
    this.#fallback = new MemoryRateLimiter(clock);
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 250;
    this.#firstConnection = new Promise((resolve) => {
      this.#settleFirstConnection = resolve;
    });
    this.#redis = new Redis(url, {
      keyPrefix: options.keyPrefix ?? 'tessera:rl:',
      // Fail fast while disconnected instead of queueing: the fallback answers meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#commandTimeoutMs,
      connectTimeout: 2000,
      // Keep trying for as long as the process runs, at most every 2 s.
      retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** Math.min(attempt, 6)),
    });
    this.#redis.defineCommand('tesseraIncrement', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
    this.#redis.defineCommand('tesseraGet', { numberOfKeys: 1, lua: GET_SCRIPT });
    this.#redis.on('error', (error: Error) => this.#degrade(error));
    this.#redis.on('close', () => this.#degrade(new Error('connection closed')));
    this.#redis.on('ready', () => {
      this.#settleFirstConnection();
      if (!this.#degraded) return;
      this.#degraded = false;
      // Counts taken while apart are dropped: Redis holds the shared truth again.
      void this.#fallback.close();
      this.log.info('rate limits are shared through Redis again');
    });
  }

  /** Where counts go right now. */
  get backend(): RateLimiterBackend {
    return this.#usable() ? 'redis' : 'memory-fallback';
  }

  async increment(key: string, windowMs: number): Promise<WindowCount> {
    if (!Number.isInteger(windowMs) || windowMs <= 0) throw new TypeError('windowMs must be a positive integer');
    if (!(await this.#connected())) return this.#fallback.increment(key, windowMs);
    try {
      const [count, ttl] = (await (this.#redis as unknown as Scripts).tesseraIncrement(key, windowMs)) as [number, number];
      return { count, resetAt: this.clock().getTime() + ttl };
    } catch (error) {
      this.#degrade(error as Error);
      return this.#fallback.increment(key, windowMs);
    }
  }

  async get(key: string): Promise<WindowCount | undefined> {
    if (!(await this.#connected())) return this.#fallback.get(key);
    try {
      const found = (await (this.#redis as unknown as Scripts).tesseraGet(key)) as [number, number] | null;
      if (found === null || found[1] <= 0) return undefined;
      return { count: found[0], resetAt: this.clock().getTime() + found[1] };
    } catch (error) {
      this.#degrade(error as Error);
      return this.#fallback.get(key);
    }
  }

  async reset(key: string): Promise<void> {
    await this.#fallback.reset(key);
    if (!(await this.#connected())) return;
    try {
      await this.#redis.del(key);
    } catch (error) {
      this.#degrade(error as Error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#settleFirstConnection();
    await this.#fallback.close();
    this.#redis.removeAllListeners('ready');
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  /** Usable now; right after start, waits up to one command timeout for the first connection. */
  async #connected(): Promise<boolean> {
    if (this.#usable()) return true;
    if (this.#degraded || this.#closed) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#firstConnection, new Promise((resolve) => (timer = setTimeout(resolve, this.#commandTimeoutMs)))]);
    clearTimeout(timer);
    return this.#usable();
  }

  #usable(): boolean {
    return !this.#closed && !this.#degraded && this.#redis.status === 'ready';
  }

  #degrade(error: Error): void {
    this.#settleFirstConnection();
    if (this.#closed || this.#degraded) return;
    this.#degraded = true;
    this.fallbacks++;
    this.log.warn({ err: error.message }, 'Redis is unreachable: rate limits are counted per instance until it is back');
  }
}

interface Scripts {
  tesseraIncrement(key: string, windowMs: number): Promise<unknown>;
  tesseraGet(key: string): Promise<unknown>;
}
