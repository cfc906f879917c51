import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { CompiledQuery, Kysely } from 'kysely';
import { grantsFromRows, type GrantRow } from '../auth/grants.ts';
import type { AuthResult } from '../auth/authenticate.ts';
import { accountScopeOf, permissionsOf, type Grant } from '../auth/permissions.ts';
import type { Principal } from '../auth/principal.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { ChangeBus } from '../changes/change-bus.ts';
import type { Storage } from '../db/database.ts';
import type { AccessKeyRow, Database } from '../db/schema.ts';
import { MemoryRateLimiter, type RateLimiter, type WindowCount } from '../rate-limit/rate-limiter.ts';
import { BoundedCache } from '../util/bounded-cache.ts';
import { andThen, type MaybePromise } from '../util/maybe-async.ts';
import { AddressAllowlist, type KeyRateLimit } from './access-key-guards.ts';
import { storedAllowedCidrs, storedRateLimit } from './access-key.repository.ts';

/** What authentication needs to know of a key, kept in memory between changes. */
interface KeyState {
  readonly expiresAtMs: number;
  readonly tokenHash: Buffer;
  /** After a roll with a grace period: the replaced token's hash, accepted until `previousUntilMs`. */
  readonly previousTokenHash: Buffer | null;
  readonly previousUntilMs: number;
  readonly disabled: boolean;
  readonly principal: Principal;
  /** Null when the key has neither an allowlist nor a rate limit (most keys): nothing more to check. */
  readonly guard: KeyGuard | null;
}

/** A key's allowlist (parsed once, when its state is loaded) and rate limit. */
interface KeyGuard {
  keyName: string;
  allowlist: AddressAllowlist | null;
  rateLimit: KeyRateLimit | null;
  /**
   * The limiter's counter for the key, named once. The window's length is part of the name: a
   * key given another window starts afresh.
   */
  counter: string;
  /** The `ratelimit-limit` header's value, written once. */
  limitHeader: string;
}

/** A verified token: the key it belongs to and its hash, which says whether it is the key's current or replaced token. */
interface VerifiedToken {
  token: string;
  keyId: string;
  hash: Buffer;
  /**
   * The key state this token was last compared with, and what it is there. A state is never
   * changed, only replaced, so the hashes are compared again only when the state is new.
   */
  comparedWith: KeyState | null;
  role: 'current' | 'previous' | 'neither';
}

export interface AccessKeyAuthOptions {
  /** Verified tokens remembered (token -> key id). */
  tokenCacheSize?: number;
  /** Key states remembered (key id -> state). */
  stateCacheSize?: number;
  /**
   * Counts each key's requests against its rate limit. In process (the default) it is asked
   * synchronously; a shared one (Redis) is asked only for keys that have a limit.
   */
  rateLimiter?: RateLimiter;
}

type Access = Pick<Principal, 'grants' | 'permissions' | 'scope'>;

/** The key joined with its grant rows: one row per grant row. */
type StateRow = Pick<
  AccessKeyRow,
  | 'id'
  | 'name'
  | 'expires_at'
  | 'token_hash'
  | 'disabled_at'
  | 'previous_token_hash'
  | 'previous_token_expires_at'
  | 'allowed_cidrs'
  | 'rate_limit_requests'
  | 'rate_limit_per_seconds'
> &
  Omit<GrantRow, 'holder_id'>;

/**
 * The verified-token cache's key: the signature's last 16 characters (96 bits of it). Hashing
 * this short text is what a warm request pays; a hit is still checked against the whole token.
 */
const TOKEN_KEY_LENGTH = 16;
const tokenCacheKey = (token: string): string => token.slice(-TOKEN_KEY_LENGTH);

/** `untilMs`: when this token stops working (its expiry, or the end of a roll's grace period). */
type KeyCheck = { ok: true; keyId: string; principal: Principal; at: Date; untilMs: number; guard: KeyGuard | null } | { ok: false; reason: string };

/** Reports each successful use of a key (usage accounting stays off the hot path). */
export type KeyUseListener = (keyId: string, ip: string, at: Date) => void;

/** Reports a valid key used from an address outside its allowlist (the audit, off the request path). */
export type AddressRefusedListener = (keyId: string, keyName: string, ip: string) => void;

const IP_NOT_ALLOWED = Object.freeze({
  code: 'ip_not_allowed',
  detail: "This access key's network allowlist does not include the address this request came from.",
} as const);

/**
 * Authenticates API keys. Cold: signature and claims (pinned), the key looked up by id, the
 * token's SHA-256 compared in constant time. Warm: the verified-token cache (a hit needs the
 * whole token text, so one token can never be answered with another's result) and the key
 * state cache answer synchronously, without signature check or SQL. Every change to a key,
 * heard from this process or another, drops its state before the next request; expiry is
 * checked against the clock on every request. A verified token keeps its hash: it is accepted
 * only while the state holds that hash as the key's current token, or as the token a roll
 * replaced and its grace period has not ended; a disabled key's state refuses every token.
 * A valid key is then held to its allowlist and rate limit, both in its state (the allowlist
 * parsed once): refusals of a valid key, answered with their own codes, not failed
 * authentications.
 */
export class AccessKeyAuthenticator {
  /**
   * Verified tokens by the end of their signature (tokenCacheKey: a short key, cheap to hash on
   * every request), each with its whole text, compared on every hit: a token that differs
   * anywhere misses.
   */
  readonly #verified: BoundedCache<string, VerifiedToken>;
  readonly #states: BoundedCache<string, KeyState | null>;
  readonly #accessByRoles = new BoundedCache<string, Access>(1024);
  /** Bumped by every invalidation, so a lookup that raced a change is not cached. */
  #generation = 0;
  #useListener: KeyUseListener | undefined;
  #addressRefusedListener: AddressRefusedListener | undefined;
  /** The in-process limiter, asked synchronously; undefined when the limit is shared (Redis). */
  readonly #localLimiter: MemoryRateLimiter | undefined;
  readonly #sharedLimiter: RateLimiter;
  /**
   * The key-state read, compiled once (Kysely's builder costs more than the lookup). On SQLite
   * the same SQL is also prepared on the raw handle: Kysely's executor (its connection mutex,
   * its promises) costs more than the indexed read itself on every cold request.
   */
  readonly #stateQuery: CompiledQuery<StateRow>;
  readonly #sqliteStateRead: ((keyId: string) => StateRow[]) | undefined;
  /** Cache lookups since start, read by `/metrics` (src/ops). Counting only: no behaviour depends on it. */
  readonly cacheStats = { tokenHits: 0, tokenMisses: 0, stateHits: 0, stateMisses: 0 };

  readonly #db: Kysely<Database>;
  readonly #sqlite: Storage['sqlite'];

  constructor(
    storage: Pick<Storage, 'db' | 'sqlite'>,
    private readonly tokens: TokenService,
    private readonly changes: ChangeBus,
    private readonly clock: () => Date,
    options: AccessKeyAuthOptions = {},
  ) {
    this.#verified = new BoundedCache(options.tokenCacheSize ?? 20_000);
    this.#states = new BoundedCache(options.stateCacheSize ?? 100_000);
    this.#sharedLimiter = options.rateLimiter ?? new MemoryRateLimiter(clock);
    this.#localLimiter = this.#sharedLimiter instanceof MemoryRateLimiter ? this.#sharedLimiter : undefined;
    this.#db = storage.db;
    this.#sqlite = storage.sqlite;
    this.#stateQuery = storage.db
      .selectFrom('access_keys')
      .innerJoin('access_key_grants', 'access_key_grants.key_id', 'access_keys.id')
      .select([
        'access_keys.id',
        'name',
        'expires_at',
        'token_hash',
        'disabled_at',
        'previous_token_hash',
        'previous_token_expires_at',
        'allowed_cidrs',
        'rate_limit_requests',
        'rate_limit_per_seconds',
        'role',
        'all_accounts',
        'account_id',
      ])
      .where('access_keys.id', '=', '')
      .compile();
    const statement = storage.sqlite?.prepare<[string], StateRow>(this.#stateQuery.sql);
    this.#sqliteStateRead = statement === undefined ? undefined : (keyId) => statement.all(keyId);
    // A key's state holds its principal, whose account scope names cloud accounts.
    changes.subscribe(['access-key', 'cloud-account'], (change) => {
      this.#generation++;
      if (change.kind === 'access-key' && change.id !== '*') this.#states.delete(change.id);
      else this.#states.clear();
    });
  }

  onUse(listener: KeyUseListener): void {
    this.#useListener = listener;
  }

  onAddressRefused(listener: AddressRefusedListener): void {
    this.#addressRefusedListener = listener;
  }

  /**
   * The bearer verifier: synchronous when both caches answer, and on SQLite also when they miss
   * (the signing key loaded, no transaction open): a promise only where something is awaited.
   */
  readonly verify = (token: string, request: FastifyRequest): MaybePromise<AuthResult> =>
    andThen(this.#warm(token) ?? this.#cold(token), (check) => this.#used(check, request));

  #used(result: KeyCheck, request: FastifyRequest): MaybePromise<AuthResult> {
    if (!result.ok) return result;
    if (result.guard !== null) return this.#guarded(result, result.guard, request);
    this.#useListener?.(result.keyId, request.ip, result.at);
    return { ok: true, principal: result.principal, at: result.at };
  }

  /**
   * A valid key with an allowlist or a rate limit: the client address must be inside the
   * allowlist (else 403, reported for the audit), then the request is counted against the limit
   * (synchronously in process; through Redis, shared by all instances, when configured).
   */
  #guarded(result: Extract<KeyCheck, { ok: true }>, guard: KeyGuard, request: FastifyRequest): MaybePromise<AuthResult> {
    const ip = request.ip;
    if (guard.allowlist !== null && !guard.allowlist.allows(ip)) {
      this.#addressRefusedListener?.(result.keyId, guard.keyName, ip);
      return { ok: false, reason: 'ip-not-allowed', refusal: IP_NOT_ALLOWED };
    }
    const limit = guard.rateLimit;
    // A request whose body arrived after a change is admitted again (access-control's
    // preHandler): it was counted the first time.
    if (limit === null || request.rateLimitCounted) {
      this.#useListener?.(result.keyId, ip, result.at);
      return { ok: true, principal: result.principal, at: result.at };
    }
    request.rateLimitCounted = true;
    const windowMs = limit.perSeconds * 1000;
    if (this.#localLimiter !== undefined) return this.#limited(result, guard, this.#localLimiter.hit(guard.counter, windowMs, result.at.getTime()), ip);
    return this.#sharedLimiter.increment(guard.counter, windowMs).then((window) => this.#limited(result, guard, window, ip));
  }

  /** The answer for a request counted as `window.count` in its window; the headers as @fastify/rate-limit writes them. */
  #limited(result: Extract<KeyCheck, { ok: true }>, guard: KeyGuard, window: Readonly<WindowCount>, ip: string): AuthResult {
    const limit = guard.rateLimit as KeyRateLimit;
    const resetSeconds = String(Math.max(0, Math.ceil((window.resetAt - result.at.getTime()) / 1000)));
    const headers: Record<string, string> = {
      'ratelimit-limit': guard.limitHeader,
      'ratelimit-remaining': String(Math.max(0, limit.requests - window.count)),
      'ratelimit-reset': resetSeconds,
    };
    if (window.count > limit.requests) {
      headers['retry-after'] = resetSeconds;
      return {
        ok: false,
        reason: 'rate-limited',
        refusal: {
          code: 'rate_limited',
          detail: `This access key allows ${limit.requests} requests every ${limit.perSeconds} seconds. Try again in ${resetSeconds} seconds.`,
          headers,
        },
      };
    }
    this.#useListener?.(result.keyId, ip, result.at);
    return { ok: true, principal: result.principal, headers, at: result.at };
  }

  /**
   * Whether a token is an active key now, exactly as `verify` decides, without counting a use
   * (token introspection asks about a key; it does not use it).
   */
  async check(token: string): Promise<KeyCheck> {
    return this.#warm(token) ?? this.#cold(token);
  }

  /** The answer from the caches alone, without a promise; `undefined` when either cache misses. */
  #warm(token: string): KeyCheck | undefined {
    // Until the change bus is live, changes by other processes could be missed: ask SQL.
    if (!this.changes.live) return undefined;
    const verified = this.#verifiedToken(token);
    if (verified === undefined) return undefined;
    const state = this.#states.get(verified.keyId);
    if (state === undefined) return undefined;
    this.cacheStats.tokenHits++;
    this.cacheStats.stateHits++;
    return state === null ? { ok: false, reason: 'removed' } : this.#usable(verified, state);
  }

  #cold(token: string): MaybePromise<KeyCheck> {
    const verified = this.#verifiedToken(token);
    if (verified !== undefined) {
      this.cacheStats.tokenHits++;
      return andThen(this.#state(verified.keyId), (state) => (state === null ? { ok: false, reason: 'removed' } : this.#usable(verified, state)));
    }
    this.cacheStats.tokenMisses++;
    return andThen(this.tokens.verify('accessKey', token), (check) => {
      if (!check.ok) return check;
      const keyId = check.claims.sub;
      return andThen(this.#state(keyId), (state) => (state === null ? { ok: false, reason: 'unknown-key' } : this.#matched(token, keyId, state)));
    });
  }

  /**
   * A verified token against its key's state: it must be the key's current token or the one a
   * roll replaced (SHA-256 compared in constant time); then it is remembered.
   */
  #matched(token: string, keyId: string, state: KeyState): KeyCheck {
    const tokenHash = hash('sha256', token, 'buffer');
    const current = timingSafeEqual(tokenHash, state.tokenHash);
    const previous = state.previousTokenHash !== null && timingSafeEqual(tokenHash, state.previousTokenHash);
    if (!current && !previous) return { ok: false, reason: 'token-mismatch' };
    const verified: VerifiedToken = { token, keyId, hash: tokenHash, comparedWith: state, role: current ? 'current' : 'previous' };
    this.#verified.set(tokenCacheKey(token), verified);
    return this.#usable(verified, state);
  }

  #verifiedToken(token: string): VerifiedToken | undefined {
    const entry = this.#verified.get(tokenCacheKey(token));
    // A plain comparison: only a caller who already holds 96 bits of a valid token's signature
    // reaches it, and a token that differs goes on to the full (constant-time) verification.
    return entry !== undefined && entry.token === token ? entry : undefined;
  }

  /**
   * Whether a verified token opens its key now: the key enabled, and the token its current one
   * (unexpired) or the one a roll replaced, within its grace period (which ends no later than
   * that token's own expiry). Checked against the clock on every request, cached or not.
   */
  #usable(verified: VerifiedToken, state: KeyState): KeyCheck {
    if (state.disabled) return { ok: false, reason: 'disabled' };
    const now = this.clock();
    if (verified.comparedWith !== state) {
      verified.role = verified.hash.equals(state.tokenHash)
        ? 'current'
        : state.previousTokenHash !== null && verified.hash.equals(state.previousTokenHash)
          ? 'previous'
          : 'neither';
      verified.comparedWith = state;
    }
    let untilMs: number;
    if (verified.role === 'current') {
      untilMs = state.expiresAtMs;
      if (untilMs <= now.getTime()) return { ok: false, reason: 'expired' };
    } else if (verified.role === 'neither') {
      return { ok: false, reason: 'rolled' };
    } else {
      untilMs = state.previousUntilMs;
      if (untilMs <= now.getTime()) return { ok: false, reason: 'grace-ended' };
    }
    return { ok: true, keyId: verified.keyId, principal: state.principal, at: now, untilMs, guard: state.guard };
  }

  /** What grants allow; many keys hold the same grants, so they share one frozen answer. */
  #access(held: Grant[]): Access {
    const text = JSON.stringify(held);
    let access = this.#accessByRoles.get(text);
    if (access === undefined) {
      const grants = Object.freeze(held);
      access = Object.freeze({ grants, permissions: permissionsOf(grants), scope: accountScopeOf(grants) });
      this.#accessByRoles.set(text, access);
    }
    return access;
  }

  /**
   * The key state's rows through Kysely: on PostgreSQL, and on SQLite while a transaction is
   * open on the connection (a direct read would see its uncommitted writes; Kysely waits for it).
   */
  async #readState(keyId: string): Promise<StateRow[]> {
    return (await this.#db.executeQuery<StateRow>({ ...this.#stateQuery, parameters: [keyId] })).rows;
  }

  /** The key's state: from the cache, else read (synchronously on SQLite outside a transaction). */
  #state(keyId: string): MaybePromise<KeyState | null> {
    // Until the change bus is live, changes by other processes could be missed: ask SQL.
    if (this.changes.live) {
      const cached = this.#states.get(keyId);
      if (cached !== undefined) {
        this.cacheStats.stateHits++;
        return cached;
      }
    }
    this.cacheStats.stateMisses++;
    const generation = this.#generation;
    const rows = this.#sqliteStateRead !== undefined && this.#sqlite?.inTransaction === false ? this.#sqliteStateRead(keyId) : this.#readState(keyId);
    return andThen(rows, (read) => {
      const state = this.#stateOf(read);
      if (generation === this.#generation && this.changes.live) this.#states.set(keyId, state);
      return state;
    });
  }

  /** A key's state from its rows (one per grant row); null when there are none (no such key). */
  #stateOf(rows: StateRow[]): KeyState | null {
    const row = rows[0];
    if (row === undefined) return null;
    const grants = grantsFromRows(rows.map((r) => ({ holder_id: r.id, role: r.role, all_accounts: r.all_accounts, account_id: r.account_id }))).get(row.id) ?? [];
    return {
      expiresAtMs: Date.parse(row.expires_at),
      tokenHash: Buffer.from(row.token_hash, 'hex'),
      previousTokenHash: row.previous_token_hash === null ? null : Buffer.from(row.previous_token_hash, 'hex'),
      previousUntilMs: row.previous_token_expires_at === null ? 0 : Date.parse(row.previous_token_expires_at),
      disabled: row.disabled_at !== null,
      principal: Object.freeze({ kind: 'access-key', id: row.id, actor: `key:${row.name}`, via: 'api-key', ...this.#access(grants) }),
      guard: guardOf(row),
    };
  }
}

/** What the request path must check of a key besides its token, parsed once; null when nothing. */
function guardOf(row: StateRow): KeyGuard | null {
  const allowedCidrs = storedAllowedCidrs(row.allowed_cidrs);
  const rateLimit = storedRateLimit(row);
  if (allowedCidrs.length === 0 && rateLimit === null) return null;
  return {
    keyName: row.name,
    allowlist: allowedCidrs.length === 0 ? null : new AddressAllowlist(allowedCidrs),
    rateLimit,
    counter: rateLimit === null ? '' : `key:${row.id}:${rateLimit.perSeconds}`,
    limitHeader: rateLimit === null ? '' : String(rateLimit.requests),
  };
}
