import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { verifyPassword } from '../auth/passwords.ts';
import type { Database, UserRow } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { AppError } from '../http/errors.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { emailKey } from '../users/user.ts';
import { findUserRowByEmailKey } from '../users/user.repository.ts';

/** Failed sign-ins allowed per account and per client address within one window. */
export const SIGN_IN_FAILURE_LIMIT = 5;
export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;

/** How a sign-in was asked for: the console's session, or a token for the API. */
export type SignInVia = 'session' | 'token';

/** Denials are values: the route turns them into its own error shape. */
export type SignInResult = { ok: true; user: UserRow } | { ok: false };

/** Runs `fn` after every earlier call with the same key has finished (in this process). */
class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}

/**
 * Checks an email and password, for the session and for user tokens alike. Failures are
 * counted per account and per client address in the shared rate limiter and audited; a
 * blocked account or address gets 429 with `Retry-After` before any password is checked.
 * An unknown email, a pending user and a wrong password cost the same scrypt work and get
 * the same answer.
 */
export class SignInService {
  // Attempts on one account or from one address are checked one after another, so parallel
  // guesses cannot all slip in under the limit before the first failure is counted.
  readonly #queue = new KeyedQueue();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
    private readonly limiter: RateLimiter,
    private readonly clock: () => Date,
    private readonly log: Logger,
  ) {}

  async check(email: string, password: string, ip: string, via: SignInVia): Promise<SignInResult> {
    const key = emailKey(email);
    const counters = [`sign-in:account:${key}`, `sign-in:ip:${ip}`];
    await this.#refuseIfBlocked(counters, key, ip);
    // Sorted, so two requests never wait on each other's key in opposite order.
    const [first, second] = [...counters].sort() as [string, string];
    return this.#queue.run(first, () =>
      this.#queue.run(second, async () => {
        await this.#refuseIfBlocked(counters, key, ip);
        const user = key.length > 0 && key.length <= 320 ? await findUserRowByEmailKey(this.db, key) : undefined;
        const usable = user !== undefined && user.status === 'active' ? user.password_hash : undefined;
        const valid = await verifyPassword(password, usable);
        if (valid && user !== undefined) {
          await this.limiter.reset(counters[0] as string);
          return { ok: true, user };
        }
        await Promise.all(counters.map((counter) => this.limiter.increment(counter, SIGN_IN_WINDOW_MS)));
        const reason = user === undefined ? 'unknown-user' : user.status !== 'active' ? 'not-active' : 'wrong-password';
        const shown = email.trim().slice(0, 320);
        // The actor is a known user's email, never text an attacker chose (it could read `key:…`).
        await this.transactions.run({ name: user?.email ?? 'anonymous', ip }, async (work) => {
          work.audit({ category: 'session', resource: shown, resourceId: user?.id ?? null, action: 'sign-in-failed', detail: { email: shown, via, reason } });
        });
        return { ok: false };
      }),
    );
  }

  async #refuseIfBlocked(counters: string[], account: string, ip: string): Promise<void> {
    const now = this.clock().getTime();
    let until = 0;
    for (const counter of counters) {
      const window = await this.limiter.get(counter);
      if (window !== undefined && window.count >= SIGN_IN_FAILURE_LIMIT) until = Math.max(until, window.resetAt);
    }
    if (until === 0) return;
    const seconds = Math.max(1, Math.ceil((until - now) / 1000));
    this.log.warn({ account, ip }, 'sign-in refused: too many failed attempts');
    throw new AppError('too_many_requests', `Too many failed sign-ins. Try again in ${seconds} seconds.`, { headers: { 'retry-after': String(seconds) } });
  }
}
