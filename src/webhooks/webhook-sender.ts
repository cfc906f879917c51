import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import type { SecretBox } from '../auth/secret-box.ts';
import type { Database } from '../db/schema.ts';
import { dueDeliveries, pruneDeliveries, recordAttempt, type DueDelivery } from './webhook.repository.ts';
import { nextAttemptAt } from './webhook.ts';
import { postWebhook, type PostOutcome } from './webhook-http.ts';

/** The scheduler job that sends due deliveries: cluster scope, so one instance sends at a time. */
export const WEBHOOK_DELIVERY_JOB = 'webhook-delivery';
export const WEBHOOK_DELIVERY_INTERVAL_MS = 1000;
/** The hourly job that forgets finished deliveries after DELIVERY_RETENTION_DAYS. */
export const WEBHOOK_RETENTION_JOB = 'webhook-delivery-retention';
export const DELIVERY_RETENTION_DAYS = 30;

/** The SecretBox purpose of webhook secrets. */
export const WEBHOOK_SECRET_PURPOSE = 'webhook-secret';

export interface SenderOptions {
  allowPrivate: boolean;
  /** Per attempt, until the receiver's status line (default 10 s). */
  timeoutMs?: number;
  /** Attempts in flight at once (default 8). */
  concurrency?: number;
}

const BATCH = 32;
/** A run stops taking new batches after this long, so the job's lock changes hands now and then. */
const RUN_BUDGET_MS = 50_000;

/**
 * Sends the outbox: every pending delivery whose attempt is due, signed per Standard Webhooks
 * (`webhook-id` the message id, the same on every attempt; `webhook-timestamp` and
 * `webhook-signature` of this attempt). A 2xx delivers; anything else is retried on the
 * backoff schedule (RETRY_DELAYS_MS) until 24 hours after the event, then the delivery is
 * `failed`. Runs as a cluster job: on PostgreSQL under the scheduler's advisory lock, so two
 * instances never send the same attempt; an instance that dies mid-send leaves the delivery
 * pending and another sends it again (at least once).
 */
export class WebhookSender {
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #stopping = new AbortController();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
    private readonly clock: () => Date,
    private readonly log: Logger,
    private readonly options: SenderOptions,
  ) {
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#concurrency = options.concurrency ?? 8;
  }

  /** Sends what is due now; resolves with the number of attempts made. */
  async deliverDue(): Promise<number> {
    const started = performance.now();
    let attempts = 0;
    for (;;) {
      const batch = await dueDeliveries(this.db, this.clock(), BATCH);
      let next = 0;
      const worker = async () => {
        while (next < batch.length && !this.#stopping.signal.aborted) {
          const delivery = batch[next++] as DueDelivery;
          await this.#attempt(delivery);
          attempts++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#concurrency, batch.length) }, worker));
      if (batch.length < BATCH || performance.now() - started > RUN_BUDGET_MS || this.#stopping.signal.aborted) return attempts;
    }
  }

  /**
   * Makes a run in progress end soon: no new batch, and attempts in flight are cut short (each is
   * recorded as failed and retried on the usual schedule, by whichever instance runs next).
   */
  stop(): void {
    this.#stopping.abort();
  }

  /** Forgets delivered and failed deliveries of events older than the retention. */
  async prune(): Promise<number> {
    return pruneDeliveries(this.db, new Date(this.clock().getTime() - DELIVERY_RETENTION_DAYS * 24 * 60 * 60 * 1000));
  }

  async #attempt(delivery: DueDelivery): Promise<void> {
    const at = this.clock();
    let outcome: PostOutcome;
    try {
      const signer = new StandardWebhook(this.box.open(WEBHOOK_SECRET_PURPOSE, delivery.secret_sealed));
      const headers = {
        'webhook-id': delivery.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signer.sign(delivery.id, at, delivery.payload),
      };
      outcome = await postWebhook(new URL(delivery.url), headers, delivery.payload, {
        allowPrivate: this.options.allowPrivate,
        timeoutMs: this.#timeoutMs,
        signal: this.#stopping.signal,
      });
    } catch (err) {
      // A secret that no longer opens (TESSERA_SECRET changed) or a URL that no longer parses.
      this.log.error({ err: { message: (err as Error).message }, webhook: delivery.webhook_id }, 'webhook delivery could not be prepared');
      outcome = { statusCode: null, error: 'the delivery could not be prepared (see the server log)', durationMs: 0 };
    }
    const attempts = delivery.attempt_count + 1;
    const delivered = outcome.error === null;
    const retryAt = delivered ? null : nextAttemptAt(new Date(delivery.created_at), at, attempts);
    if (!delivered) {
      // Only the URL's origin: receivers often carry a secret in its path or query.
      this.log.info(
        { webhook: delivery.webhook_id, webhookId: delivery.id, url: new URL(delivery.url).origin, attempt: attempts, status: outcome.statusCode, error: outcome.error },
        retryAt === null ? 'webhook delivery failed for good' : 'webhook delivery failed, will retry',
      );
    }
    await recordAttempt(this.db, delivery, {
      at,
      statusCode: outcome.statusCode,
      error: outcome.error,
      durationMs: outcome.durationMs,
      status: delivered ? 'delivered' : retryAt === null ? 'failed' : 'pending',
      nextAttemptAt: retryAt,
    });
  }
}
