import { isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { verifyPassword } from '../auth/passwords.ts';
import type { Database } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { AppError } from '../http/errors.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { findUserByEmailKey, type UserRecord } from '../users/user.public.ts';
import { emailKey } from '../users/user.ts';

/**
 * Sign-in throttling (OWASP Authentication Cheat Sheet: no attacker may deny a user their own
 * sign-in). Every failure counts in three windows of SIGN_IN_WINDOW_MS, shared through the rate
 * limiter (Redis with REDIS_URL):
 * - per account and client network: SIGN_IN_PAIR_LIMIT failures refuse that pair (429), even with
 *   the right password, so one source cannot keep guessing one account;
 * - per client network, any accounts: SIGN_IN_ADDRESS_LIMIT failures refuse that network (429),
 *   against one source spraying many accounts;
 * - per account, from every network: never a refusal (that would let anyone lock anyone out,
 *   the primary admin included); from SIGN_IN_SLOWDOWN_AFTER failures on, every attempt on the
 *   account waits first (accountDelayMs), so a guesser spread over many addresses is slowed
 *   while the user still gets in.
 */
export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;
export const SIGN_IN_PAIR_LIMIT = 5;
export const SIGN_IN_ADDRESS_LIMIT = 20;
export const SIGN_IN_SLOWDOWN_AFTER = 10;
export const SIGN_IN_MAX_DELAY_MS = 15_000;

/** How long an attempt on an account with `failures` recent failures (all networks) waits: 0, then 1, 2, 4, 8, 15 s. */
export function accountDelayMs(failures: number): number {
  if (failures < SIGN_IN_SLOWDOWN_AFTER) return 0;
  return Math.min(SIGN_IN_MAX_DELAY_MS, 1000 * 2 ** Math.min(failures - SIGN_IN_SLOWDOWN_AFTER, 10));
}

/**
 * The client network a throttle counts: an IPv4 address (also when written IPv4-mapped), or
 * an IPv6 address's /64, since one subscriber routinely holds a whole /64 and could otherwise
 * give every guess an address of its own.
 */
export function clientNetwork(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped !== null) return mapped[1] as string;
  if (isIPv6(ip)) return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
  return ip;
}

/** The eight hextets of a valid IPv6 address (zone removed, an embedded IPv4 tail converted). */
function expandIPv6(ip: string): string[] {
  let text = ip.split('%')[0] as string;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((h) => parseInt(h, 16).toString(16));
}

/** How a sign-in was asked for: the console's session, or a token for the API. */
export type SignInVia = 'session' | 'token';

/** Denials are values: the route turns them into its own error shape. */
export type SignInResult = { ok: true; user: UserRecord } | { ok: false };

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
 * counted in the shared rate limiter (see SIGN_IN_WINDOW_MS for the three counts) and audited;
 * a blocked pair or network gets 429 with `Retry-After` before any password is checked. An
 * unknown email, a pending user and a wrong password cost the same scrypt work and get the
 * same answer.
 */
export class SignInService {
  // Attempts of one pair or from one network are checked one after another, so parallel
  // guesses cannot all slip in under a limit before the first failure is counted.
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
    const network = clientNetwork(ip);
    const counters = { pair: `sign-in:pair:${network}:${key}`, network: `sign-in:ip:${network}`, account: `sign-in:account:${key}` };
    await this.#refuseIfBlocked(counters, key, ip);
    // Sorted, so two requests never wait on each other's key in opposite order.
    const [first, second] = [counters.pair, counters.network].sort() as [string, string];
    return this.#queue.run(first, () =>
      this.#queue.run(second, async () => {
        await this.#refuseIfBlocked(counters, key, ip);
        const delay = accountDelayMs((await this.limiter.get(counters.account))?.count ?? 0);
        if (delay > 0) {
          this.log.warn({ account: key, ip, delayMs: delay }, 'sign-in slowed: many failed attempts on this account');
          await sleep(delay);
        }
        const user = key.length > 0 && key.length <= 320 ? await findUserByEmailKey(this.db, key) : undefined;
        const usable = user !== undefined && user.status === 'active' ? user.password_hash : undefined;
        const valid = await verifyPassword(password, usable);
        if (valid && user !== undefined) {
          // Only this pair starts over: the account's slowdown and the network's count run out on their own.
          await this.limiter.reset(counters.pair);
          return { ok: true, user };
        }
        await Promise.all(Object.values(counters).map((counter) => this.limiter.increment(counter, SIGN_IN_WINDOW_MS)));
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

  async #refuseIfBlocked(counters: { pair: string; network: string }, account: string, ip: string): Promise<void> {
    const now = this.clock().getTime();
    const [pair, network] = await Promise.all([this.limiter.get(counters.pair), this.limiter.get(counters.network)]);
    let until = 0;
    if (pair !== undefined && pair.count >= SIGN_IN_PAIR_LIMIT) until = pair.resetAt;
    if (network !== undefined && network.count >= SIGN_IN_ADDRESS_LIMIT) until = Math.max(until, network.resetAt);
    if (until === 0) return;
    const seconds = Math.max(1, Math.ceil((until - now) / 1000));
    this.log.warn({ account, ip }, 'sign-in refused: too many failed attempts');
    throw new AppError('too_many_requests', `Too many failed sign-ins. Try again in ${seconds} seconds.`, { headers: { 'retry-after': String(seconds) } });
  }
}
