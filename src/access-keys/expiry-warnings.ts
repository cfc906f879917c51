import { sql, type Kysely } from 'kysely';
import { SYSTEM_ACTOR } from '../auth/principal.ts';
import type { AccessKeyRow, Database } from '../db/schema.ts';
import type { Transactions, Work } from '../db/transactions.ts';
import { enqueueWebhookEvent } from '../webhooks/webhook-events.ts';
import { rowToAccessKey, withGrants, type AccessKeyRecord } from './access-key.repository.ts';

/** The cluster job that sends expiry warnings: at start and hourly. */
export const EXPIRY_WARNING_JOB = 'access-key-expiry-warnings';
export const EXPIRY_WARNING_INTERVAL_MS = 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;
/** A key that expired longer ago than this (say, while every instance was stopped) gets no `expired` event. */
const EXPIRED_LOOKBACK_MS = 7 * DAY_MS;
/** Keys per unit of work. */
const BATCH = 500;

/**
 * The warning a key with `remainingMs` left is due: the smallest threshold (in days) its
 * remaining time has crossed, or undefined when it has crossed none. `thresholds` is largest first.
 */
export function warningThreshold(thresholds: readonly number[], remainingMs: number): number | undefined {
  let crossed: number | undefined;
  for (const days of thresholds) if (remainingMs <= days * DAY_MS) crossed = days;
  return crossed;
}

/**
 * Forgets what was announced about a key's expiry, so that its warnings start again: call it in
 * the unit of work that gives the key a new expiry (a roll). A key whose expiry moved is also
 * treated afresh without it, as the record names the expiry it was about.
 */
export async function resetExpiryWarnings(work: Pick<Work, 'trx'>, keyId: string): Promise<void> {
  await work.trx.deleteFrom('access_key_expiry_notices').where('key_id', '=', keyId).execute();
}

type Candidate = AccessKeyRow & { notice_expires_at: string | null; warned_days: number | null; expired_sent: number | null };

/**
 * Sends `access_key.expiring` once per key for the smallest TESSERA_EXPIRY_WARNING_DAYS
 * threshold its remaining time has crossed (a 7-day key gets one event, for 7, not one for 30
 * too), and `access_key.expired` once when it expires. What was sent is kept per key in
 * `access_key_expiry_notices`, written with the events' outbox rows in one unit of work, and the
 * job runs on one instance at a time: no warning twice, however many instances run.
 */
export class ExpiryWarnings {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
    private readonly clock: () => Date,
    /** Largest first. */
    private readonly thresholds: readonly number[],
  ) {}

  /** Sends the warnings due now; resolves with how many of each it sent. */
  async run(): Promise<{ expiring: number; expired: number }> {
    const sent = { expiring: 0, expired: 0 };
    const now = this.clock();
    const horizon = new Date(now.getTime() + (this.thresholds[0] ?? 0) * DAY_MS).toISOString();
    let after: { expiresAt: string; id: string } | undefined;
    for (;;) {
      let query = this.db
        .selectFrom('access_keys as k')
        .leftJoin('access_key_expiry_notices as n', 'n.key_id', 'k.id')
        .selectAll('k')
        .select(['n.expires_at as notice_expires_at', 'n.warned_days', 'n.expired_sent'])
        .where('k.expires_at', '>', new Date(now.getTime() - EXPIRED_LOOKBACK_MS).toISOString())
        .where('k.expires_at', '<=', horizon);
      if (after !== undefined) {
        const { expiresAt, id } = after;
        query = query.where((eb) => eb.or([eb('k.expires_at', '>', expiresAt), eb.and([eb('k.expires_at', '=', expiresAt), eb('k.id', '>', id)])]));
      }
      const rows = (await query.orderBy('k.expires_at').orderBy('k.id').limit(BATCH).execute()) as Candidate[];
      const due = await withGrants(
        this.db,
        rows.filter((row) => this.#due(row, now) !== undefined),
      );
      if (due.length > 0) {
        await this.transactions.run(SYSTEM_ACTOR, async (work) => {
          for (const row of due) {
            const kind = this.#due(row, now);
            if (kind === 'expired') {
              await enqueueWebhookEvent(work, 'access_key.expired', rowToAccessKey(row, now));
              await this.#remember(work, row, row.notice_expires_at === row.expires_at ? row.warned_days : null, 1);
              sent.expired++;
            } else if (kind !== undefined) {
              const remaining = Date.parse(row.expires_at) - now.getTime();
              await enqueueWebhookEvent(work, 'access_key.expiring', { ...rowToAccessKey(row, now), daysLeft: Math.ceil(remaining / DAY_MS), warningDays: kind });
              await this.#remember(work, row, kind, 0);
              sent.expiring++;
            }
          }
        });
      }
      const last = rows.at(-1);
      if (rows.length < BATCH || last === undefined) break;
      after = { expiresAt: last.expires_at, id: last.id };
    }
    // Records of removed keys.
    await this.db
      .deleteFrom('access_key_expiry_notices')
      .where(sql<boolean>`not exists (select 1 from access_keys where access_keys.id = access_key_expiry_notices.key_id)`)
      .execute();
    return sent;
  }

  /** What is due for a key: 'expired', a threshold to warn for, or undefined (nothing new). */
  #due(row: Candidate, now: Date): 'expired' | number | undefined {
    const current = row.notice_expires_at === row.expires_at;
    const remaining = Date.parse(row.expires_at) - now.getTime();
    if (remaining <= 0) return current && row.expired_sent === 1 ? undefined : 'expired';
    const threshold = warningThreshold(this.thresholds, remaining);
    if (threshold === undefined) return undefined;
    if (current && row.warned_days !== null && row.warned_days <= threshold) return undefined;
    return threshold;
  }

  async #remember(work: Work, row: Candidate, warnedDays: number | null, expiredSent: number): Promise<void> {
    const values = { expires_at: row.expires_at, warned_days: warnedDays, expired_sent: expiredSent };
    await work.trx
      .insertInto('access_key_expiry_notices')
      .values({ key_id: row.id, ...values })
      .onConflict((oc) => oc.column('key_id').doUpdateSet(values))
      .execute();
  }
}

/** How many active keys expire within `withinDays`, counted up to `cap`, and the soonest few. */
export async function keysExpiringSoon(
  db: Kysely<Database>,
  now: Date,
  withinDays: number,
  options: { cap: number; soonest: number },
): Promise<{ count: number; capped: boolean; soonest: AccessKeyRecord[] }> {
  const range = (q: ReturnType<typeof base>) =>
    q
      .where('expires_at', '>', now.toISOString())
      .where('expires_at', '<=', new Date(now.getTime() + withinDays * DAY_MS).toISOString())
      .where('disabled_at', 'is', null);
  const base = () => db.selectFrom('access_keys');
  const counted = await db
    .selectFrom(
      range(base())
        .select('id')
        .limit(options.cap + 1)
        .as('k'),
    )
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirstOrThrow();
  const soonest = await withGrants(db, await range(base()).selectAll().orderBy('expires_at').orderBy('id').limit(options.soonest).execute());
  const n = Number(counted.n);
  return { count: Math.min(n, options.cap), capped: n > options.cap, soonest };
}
