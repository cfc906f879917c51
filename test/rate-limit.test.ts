import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimiter, type RateLimiter } from '../src/rate-limit/rate-limiter.ts';
import { RedisRateLimiter } from '../src/rate-limit/redis-rate-limiter.ts';
import { SignInService } from '../src/sessions/sign-in.service.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, testClock, type Harness } from './helpers/harness.ts';
import { addUser, PASSWORD } from './helpers/people.ts';

/** The Redis the suite uses (the local one; `.ci/run` starts it). */
const REDIS_URL = process.env['TESSERA_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function silentLog() {
  return pino({ level: 'silent' });
}

/** A log that keeps its lines, to check what an operator would read. */
function recordingLog(): { log: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

async function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A throwaway redis-server of our own, so the test can stop and restart it. */
async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await vi.waitFor(
    async () => {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        expect(await probe.ping()).toBe('PONG');
      } finally {
        probe.disconnect();
      }
    },
    { timeout: 10_000, interval: 50 },
  );
  return child;
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** The behaviour every limiter must have, whatever stores the counts. */
function contract(name: string, make: () => { limiter: RateLimiter; now: () => number }) {
  describe(`${name}: the counting contract`, () => {
    let limiter: RateLimiter;
    afterEach(() => limiter.close());

    it('counts hits in one window per key and reports when it ends', async () => {
      let now: () => number;
      ({ limiter, now } = make());
      const before = now();
      const first = await limiter.increment('a', 60_000);
      const second = await limiter.increment('a', 60_000);
      const other = await limiter.increment('b', 60_000);
      expect([first.count, second.count, other.count]).toEqual([1, 2, 1]);
      // The window opened at the first hit: the second hit does not move its end
      // (Redis reports milliseconds left, so allow a few ms of local clock between the two answers).
      expect(second.resetAt).toBeLessThanOrEqual(first.resetAt + 5);
      expect(first.resetAt).toBeGreaterThan(before + 59_000);
      expect(first.resetAt).toBeLessThanOrEqual(now() + 60_000);
      expect(await limiter.get('a')).toMatchObject({ count: 2 });
      expect(await limiter.get('never')).toBeUndefined();
    });

    it('forgets a key on reset', async () => {
      ({ limiter } = make());
      await limiter.increment('c', 60_000);
      await limiter.increment('c', 60_000);
      await limiter.reset('c');
      expect(await limiter.get('c')).toBeUndefined();
      expect((await limiter.increment('c', 60_000)).count).toBe(1);
    });

    it('counts concurrent hits exactly (no lost update)', async () => {
      ({ limiter } = make());
      const results = await Promise.all(Array.from({ length: 50 }, () => limiter.increment('burst', 60_000)));
      expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });
  });
}

contract('memory', () => {
  const clock = testClock();
  return { limiter: new MemoryRateLimiter(clock), now: () => clock().getTime() };
});

contract('redis', () => {
  return {
    limiter: new RedisRateLimiter(REDIS_URL, () => new Date(), silentLog(), { keyPrefix: `tessera-test:${randomBytes(6).toString('hex')}:` }),
    now: () => Date.now(),
  };
});

describe('memory limiter', () => {
  it('starts a new window once the old one has ended', async () => {
    const clock = testClock();
    const limiter = new MemoryRateLimiter(clock);
    await limiter.increment('k', 1000);
    await limiter.increment('k', 1000);
    clock.advance(1000);
    expect(await limiter.get('k')).toBeUndefined();
    const fresh = await limiter.increment('k', 1000);
    expect(fresh).toEqual({ count: 1, resetAt: clock().getTime() + 1000 });
  });

  it('stays bounded under a flood of keys', async () => {
    const clock = testClock();
    const limiter = new MemoryRateLimiter(clock, 100);
    for (let i = 0; i < 1000; i++) await limiter.increment(`flood-${i}`, 60_000);
    // The newest keys are kept; the oldest were dropped to make room.
    expect(await limiter.get('flood-999')).toMatchObject({ count: 1 });
    expect(await limiter.get('flood-0')).toBeUndefined();
  });
});

describe('redis limiter', () => {
  const prefix = `tessera-test:${randomBytes(6).toString('hex')}:`;
  let direct: Redis;
  beforeAll(() => {
    direct = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const keys = await direct.keys(`${prefix}*`);
    if (keys.length > 0) await direct.del(...keys);
    await direct.quit();
  });

  it('shares one count between instances and lets Redis expire the window', async () => {
    const a = new RedisRateLimiter(REDIS_URL, () => new Date(), silentLog(), { keyPrefix: prefix });
    const b = new RedisRateLimiter(REDIS_URL, () => new Date(), silentLog(), { keyPrefix: prefix });
    try {
      expect((await a.increment('shared', 60_000)).count).toBe(1);
      expect((await b.increment('shared', 60_000)).count).toBe(2);
      expect((await a.increment('shared', 60_000)).count).toBe(3);
      expect(await b.get('shared')).toMatchObject({ count: 3 });
      expect(a.backend).toBe('redis');
      // The key lives under the prefix with an expiry no longer than the window.
      const ttl = await direct.pttl(`${prefix}shared`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('gives a key whose expiry was lost a fresh one instead of counting forever', async () => {
    const limiter = new RedisRateLimiter(REDIS_URL, () => new Date(), silentLog(), { keyPrefix: prefix });
    try {
      await direct.set(`${prefix}stuck`, '7');
      expect((await limiter.increment('stuck', 5_000)).count).toBe(8);
      const ttl = await direct.pttl(`${prefix}stuck`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5_000);
    } finally {
      await limiter.close();
    }
  });

  it('refuses a window that is not a positive whole number of milliseconds (programmer error)', async () => {
    const limiter = new RedisRateLimiter(REDIS_URL, () => new Date(), silentLog(), { keyPrefix: prefix });
    try {
      await expect(limiter.increment('x', 0)).rejects.toThrow(TypeError);
    } finally {
      await limiter.close();
    }
  });
});

describe.each(DIALECTS)('sign-in throttling shared through Redis (%s)', (dialect) => {
  const prefix = `tessera-test:${randomBytes(6).toString('hex')}:`;
  let h: Harness;
  let direct: Redis;
  beforeAll(async () => {
    h = await createHarness(dialect);
    direct = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const keys = await direct.keys(`${prefix}*`);
    if (keys.length > 0) await direct.del(...keys);
    await direct.quit();
    await h.close();
  });

  it('two instances count one account-and-address pair together; another address is not affected', async () => {
    const user = await addUser(h, [{ role: 'global-viewer' }]);
    const instance = () => {
      const limiter = new RedisRateLimiter(REDIS_URL, () => new Date(), silentLog(), { keyPrefix: prefix });
      return { limiter, signIn: new SignInService(h.ctx.storage.db, h.ctx.transactions, limiter, () => new Date(), silentLog()) };
    };
    const a = instance();
    const b = instance();
    try {
      for (let i = 0; i < 5; i++) expect((await (i % 2 === 0 ? a : b).signIn.check(user.email, `wrong ${i}`, '10.8.0.1', 'session')).ok).toBe(false);
      for (const { signIn } of [a, b]) {
        const refused = await signIn.check(user.email, PASSWORD, '10.8.0.1', 'session').catch((error: unknown) => error);
        expect(refused).toMatchObject({ code: 'too_many_requests' });
        expect(Number((refused as { extra: { headers: Record<string, string> } }).extra.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect((await b.signIn.check(user.email, PASSWORD, '10.8.0.2', 'session')).ok).toBe(true);
      expect(a.limiter.backend).toBe('redis');
    } finally {
      await a.limiter.close();
      await b.limiter.close();
    }
  });
});

describe('redis limiter when Redis goes away', () => {
  it('counts per instance with a warning while Redis is unreachable, never failing a caller', async () => {
    const port = await sparePort(); // nothing listens there
    const { log, lines } = recordingLog();
    const limiter = new RedisRateLimiter(`redis://127.0.0.1:${port}`, () => new Date(), log);
    try {
      expect((await limiter.increment('k', 60_000)).count).toBe(1);
      expect((await limiter.increment('k', 60_000)).count).toBe(2);
      expect(await limiter.get('k')).toMatchObject({ count: 2 });
      await vi.waitFor(() => expect(lines.some((l) => l.level === 40 && /Redis is unreachable/.test(l.msg))).toBe(true));
      expect(limiter.backend).toBe('memory-fallback');
      // One warning per outage, not one per failed reconnect.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(lines.filter((l) => /Redis is unreachable/.test(l.msg))).toHaveLength(1);
    } finally {
      await limiter.close();
    }
  });

  it('falls back when Redis dies mid-flight and shares counts again once it is back', async () => {
    const port = await sparePort();
    let server = await startRedisServer(port);
    const { log, lines } = recordingLog();
    const limiter = new RedisRateLimiter(`redis://127.0.0.1:${port}`, () => new Date(), log);
    const direct = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0 });
    direct.on('error', () => {});
    try {
      await vi.waitFor(() => expect(limiter.backend).toBe('redis'));
      expect((await limiter.increment('k', 60_000)).count).toBe(1);
      expect(await direct.get('tessera:rl:k')).toBe('1');

      await stopProcess(server);
      // Every call still answers, from the in-process fallback.
      const during = await Promise.all([limiter.increment('k', 60_000), limiter.increment('k', 60_000)]);
      expect(during.map((w) => w.count).sort()).toEqual([1, 2]);
      expect(limiter.backend).toBe('memory-fallback');
      expect(limiter.fallbacks).toBe(1);
      expect(lines.some((l) => /Redis is unreachable/.test(l.msg))).toBe(true);

      server = await startRedisServer(port);
      await vi.waitFor(() => expect(limiter.backend).toBe('redis'), { timeout: 10_000, interval: 50 });
      expect(lines.some((l) => /shared through Redis again/.test(l.msg))).toBe(true);
      // Back on Redis (a fresh, empty one): the count is Redis's again.
      expect((await limiter.increment('k', 60_000)).count).toBe(1);
      await vi.waitFor(async () => expect(await direct.get('tessera:rl:k')).toBe('1'), { timeout: 5_000 });
    } finally {
      await limiter.close();
      direct.disconnect();
      await stopProcess(server);
    }
  });
});
