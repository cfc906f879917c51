import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { AuthResult } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import type { Database } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { recordSignIn, revokeUserTokens, rowToUser, type UserRecord } from '../users/user.public.ts';
import { principalForUser, type User } from '../users/user.ts';
import { deleteExpiredSessions, deleteOtherSessionsOf, deleteSession, findSessionWithUser, insertSession, touchSession } from './session.repository.ts';
import { hashSessionId, isSessionSecretShaped, newSessionSecret, sessionCookieName, touchIntervalMs } from './session.ts';

export interface SessionOptions {
  idleMinutes: number;
  absoluteHours: number;
  /** Secure cookies (the public URL is https). */
  secure: boolean;
}

/** A new session: the cookie's value (shown to the browser only) and what the answer carries. */
export interface NewSession {
  cookieValue: string;
  csrfToken: string;
  user: User;
  expiresAt: Date;
}

const USER_AGENT_MAX = 256;

/**
 * Console sessions, kept server-side in the database so they survive restarts and can be
 * ended. The cookie holds a random id; the table holds its SHA-256. Each request reads the
 * session with its user (so the user's current roles apply, and a deleted user's session is
 * dead), checks the idle and absolute ends, and records activity at most once a minute.
 */
export class SessionService {
  readonly cookieName: string;
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  readonly #touchMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
    private readonly clock: () => Date,
    readonly options: SessionOptions,
  ) {
    this.cookieName = sessionCookieName(options.secure);
    this.#idleMs = options.idleMinutes * 60_000;
    this.#absoluteMs = options.absoluteHours * 3_600_000;
    this.#touchMs = touchIntervalMs(this.#idleMs);
  }

  /** The cookie's lifetime in seconds (the absolute end; the idle end is enforced here). */
  get maxAgeSeconds(): number {
    return Math.floor(this.#absoluteMs / 1000);
  }

  /**
   * Starts a session for a user whose password was just checked, records the sign-in and
   * ends the session the browser held before, if any (no fixation).
   */
  async start(user: UserRecord, ip: string, userAgent: string | undefined, previousCookie: string | undefined): Promise<NewSession> {
    const cookieValue = newSessionSecret();
    const csrfToken = newSessionSecret();
    return this.transactions.run({ name: user.email, ip }, async (work) => {
      const now = work.now.toISOString();
      const expiresAt = new Date(work.now.getTime() + this.#absoluteMs);
      if (previousCookie !== undefined && isSessionSecretShaped(previousCookie)) await deleteSession(work.trx, hashSessionId(previousCookie));
      await insertSession(work.trx, {
        id_hash: hashSessionId(cookieValue),
        user_id: user.id,
        csrf_token: csrfToken,
        created_at: now,
        last_seen_at: now,
        expires_at: expiresAt.toISOString(),
        ip,
        user_agent: userAgent === undefined ? null : userAgent.slice(0, USER_AGENT_MAX),
      });
      const signedIn = await recordSignIn(work, user);
      work.audit({ category: 'session', resource: user.email, resourceId: user.id, action: 'sign-in', detail: { email: user.email, via: 'session' } });
      return { cookieValue, csrfToken, user: signedIn, expiresAt };
    });
  }

  /** The session resolver for the authenticator: `undefined` when the request has no session cookie. */
  readonly resolve = async (request: FastifyRequest): Promise<AuthResult | undefined> => {
    const value = request.cookies?.[this.cookieName];
    if (value === undefined || value === '') return undefined;
    if (!isSessionSecretShaped(value)) return { ok: false, reason: 'session-malformed' };
    const idHash = hashSessionId(value);
    const found = await findSessionWithUser(this.db, idHash);
    if (found === undefined) return { ok: false, reason: 'session-unknown' };
    const { session, user } = found;
    const now = this.clock();
    const nowMs = now.getTime();
    if (Date.parse(session.expires_at) <= nowMs) return { ok: false, reason: 'session-expired' };
    const lastSeenMs = Date.parse(session.last_seen_at);
    if (lastSeenMs + this.#idleMs <= nowMs) return { ok: false, reason: 'session-idle' };
    if (user.status !== 'active') return { ok: false, reason: 'user-not-active' };
    if (nowMs - lastSeenMs >= this.#touchMs) await touchSession(this.db, idHash, now.toISOString());
    const principal: Principal = principalForUser(rowToUser(user), 'session', { id: idHash, csrfToken: session.csrf_token });
    return { ok: true, principal };
  };

  /** Signs out: the session row goes, so the cookie is dead at once. */
  async end(principal: Principal, ip: string): Promise<void> {
    if (principal.session === undefined) throw new TypeError('end() needs a session principal');
    const idHash = principal.session.id;
    await this.transactions.run(
      { name: principal.actor, ip },
      async (work) => {
        if (!(await deleteSession(work.trx, idHash))) return;
        work.audit({ category: 'session', resource: principal.actor, resourceId: principal.id, action: 'sign-out', detail: { email: principal.actor } });
        work.announce({ kind: 'session', id: idHash });
      },
      { reducesAccess: true },
    );
  }

  /**
   * Signs a user out everywhere: every session of theirs ends (this one too) and every user
   * token issued to them so far is refused from the next request on. Returns how many sessions ended.
   */
  async endEverywhere(principal: Principal, ip: string): Promise<number> {
    if (principal.kind !== 'user') throw new TypeError('endEverywhere() needs a user principal');
    return this.transactions.run(
      { name: principal.actor, ip },
      async (work) => {
        if (!(await revokeUserTokens(work, principal.id))) return 0;
        const sessionsEnded = await deleteOtherSessionsOf(work.trx, principal.id, undefined);
        work.audit({
          category: 'session',
          resource: principal.actor,
          resourceId: principal.id,
          action: 'sign-out',
          detail: { email: principal.actor, everywhere: true, sessionsEnded, tokensRevoked: true },
        });
        return sessionsEnded;
      },
      { reducesAccess: true },
    );
  }

  /** Deletes sessions past their absolute or idle end; the periodic cleanup. */
  async sweep(): Promise<number> {
    const now = this.clock();
    return deleteExpiredSessions(this.db, now.toISOString(), new Date(now.getTime() - this.#idleMs).toISOString());
  }
}
