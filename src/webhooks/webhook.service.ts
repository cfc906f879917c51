import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/principal.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import type { Database, WebhookRow } from '../db/schema.ts';
import type { Transactions, Work } from '../db/transactions.ts';
import { AppError, notFound, validationFailed } from '../http/errors.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import { RefusedAddressError, resolveWebhookHost } from './addresses.ts';
import { webhookMessage } from './webhook-events.ts';
import { WEBHOOK_SECRET_PURPOSE } from './webhook-sender.ts';
import {
  countWebhooks,
  deleteWebhook,
  enqueueForWebhook,
  findWebhookRow,
  insertWebhook,
  listDeliveries,
  listWebhookRows,
  replaceSubscriptions,
  rowToDelivery,
  rowToWebhook,
  subscriptionsOf,
  updateWebhookRow,
} from './webhook.repository.ts';
import {
  MAX_WEBHOOKS,
  newWebhookSecret,
  normalizeDescription,
  normalizeEvents,
  parseWebhookUrl,
  privateAddressRefused,
  TEST_EVENT_TYPE,
  type Delivery,
  type DeliveryStatus,
  type Webhook,
} from './webhook.ts';

export interface NewWebhook {
  url: string;
  events: string[];
  description?: string | null | undefined;
}

export interface WebhookEdit {
  url?: string | undefined;
  events?: string[] | undefined;
  description?: string | null | undefined;
}

/** How long creating or editing a webhook waits for its host name to resolve before accepting it unchecked (it is checked again on every delivery). */
const RESOLVE_TIMEOUT_MS = 3000;

/** Webhooks: endpoints, their signing secrets (sealed at rest, shown once) and their deliveries. */
export class WebhookService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
    private readonly box: SecretBox,
    private readonly allowPrivate: boolean,
  ) {}

  async list(): Promise<{ items: Webhook[] }> {
    const rows = await listWebhookRows(this.db);
    const events = await subscriptionsOf(
      this.db,
      rows.map((r) => r.id),
    );
    return { items: rows.map((row) => rowToWebhook(row, normalizeEvents(events.get(row.id) ?? []))) };
  }

  async get(id: string): Promise<Webhook> {
    const row = await findWebhookRow(this.db, id);
    if (row === undefined) throw notFound('The webhook');
    return this.#withEvents(this.db, row);
  }

  /** Adds a webhook; the secret in the answer is the only time it is shown. */
  async create(actor: Actor, input: NewWebhook): Promise<{ webhook: Webhook; secret: string }> {
    const url = await this.#checkedUrl(input.url);
    const events = this.#events(input.events);
    const description = normalizeDescription(input.description);
    const secret = newWebhookSecret();
    return this.transactions.run(actor, async (work) => {
      if ((await countWebhooks(work.trx)) >= MAX_WEBHOOKS)
        throw new AppError('conflict', `There are already ${MAX_WEBHOOKS} webhooks, the most allowed: remove one first.`);
      const now = work.now.toISOString();
      const row: WebhookRow = {
        id: randomUUID(),
        url: url.href,
        description,
        secret_sealed: this.box.seal(WEBHOOK_SECRET_PURPOSE, secret),
        created_at: now,
        updated_at: now,
      };
      await insertWebhook(work.trx, row, events);
      // Where it sends and what: never the secret.
      work.audit({ category: 'webhooks', resource: url.origin, resourceId: row.id, action: 'add', detail: { url: url.origin, events } });
      return { webhook: rowToWebhook(row, events), secret };
    });
  }

  async edit(actor: Actor, id: string, edit: WebhookEdit): Promise<Webhook> {
    const url = edit.url === undefined ? undefined : await this.#checkedUrl(edit.url);
    const events = edit.events === undefined ? undefined : this.#events(edit.events);
    const description = edit.description === undefined ? undefined : normalizeDescription(edit.description);
    return this.transactions.run(actor, async (work) => {
      const row = await this.#existing(work, id);
      const next: WebhookRow = {
        ...row,
        url: url?.href ?? row.url,
        description: description === undefined ? row.description : description,
        updated_at: work.now.toISOString(),
      };
      await updateWebhookRow(work.trx, id, { url: next.url, description: next.description, updated_at: next.updated_at });
      if (events !== undefined) await replaceSubscriptions(work.trx, id, events);
      const webhook = events === undefined ? await this.#withEvents(work.trx, next) : rowToWebhook(next, events);
      const origin = new URL(next.url).origin;
      work.audit({ category: 'webhooks', resource: origin, resourceId: id, action: 'edit', detail: { url: origin, events: webhook.events } });
      return webhook;
    });
  }

  /** Removes a webhook; its pending deliveries are dropped with it. */
  async remove(actor: Actor, id: string): Promise<void> {
    await this.transactions.run(actor, async (work) => {
      const row = await this.#existing(work, id);
      await deleteWebhook(work.trx, id);
      const origin = new URL(row.url).origin;
      work.audit({ category: 'webhooks', resource: origin, resourceId: id, action: 'delete', detail: { url: origin } });
    });
  }

  /** Queues a `webhook.test` event for this webhook only; the sender posts it within about a second. */
  async test(actor: Actor, id: string): Promise<Delivery> {
    return this.transactions.run(actor, async (work) => {
      await this.#existing(work, id);
      const row = await enqueueForWebhook(work.trx, id, webhookMessage(TEST_EVENT_TYPE, work.now, { webhookId: id }));
      return rowToDelivery(row, []);
    });
  }

  async deliveries(
    id: string,
    options: { limit?: number | undefined; cursor?: string | undefined; status?: DeliveryStatus | undefined } = {},
  ): Promise<{ items: Delivery[]; nextCursor: string | null }> {
    if ((await findWebhookRow(this.db, id)) === undefined) throw notFound('The webhook');
    const limit = Math.min(options.limit ?? 50, 200);
    const before = options.cursor === undefined ? undefined : (decodeCursor(options.cursor, 1) as [string])[0];
    const rows = await listDeliveries(this.db, id, { limit: limit + 1, before, status: options.status });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(({ row, attempts }) => rowToDelivery(row, attempts)),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor([last.row.id]) : null,
    };
  }

  #events(events: string[]) {
    const normalized = normalizeEvents(events);
    if (normalized.length === 0) throw validationFailed('/events', 'must name at least one event type');
    return normalized;
  }

  /**
   * The URL, checked: its form, and unless private addresses are allowed, where its host
   * resolves now. A name that does not resolve yet is accepted (every delivery resolves it again).
   */
  async #checkedUrl(raw: string): Promise<URL> {
    const url = parseWebhookUrl(raw, this.allowPrivate);
    if (this.allowPrivate) return url;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        resolveWebhookHost(url.hostname, false),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, RESOLVE_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      if (error instanceof RefusedAddressError) throw privateAddressRefused();
    } finally {
      clearTimeout(timer);
    }
    return url;
  }

  async #withEvents(db: Kysely<Database>, row: WebhookRow): Promise<Webhook> {
    const events = await subscriptionsOf(db, [row.id]);
    return rowToWebhook(row, normalizeEvents(events.get(row.id) ?? []));
  }

  async #existing(work: Work, id: string): Promise<WebhookRow> {
    const row = await findWebhookRow(work.trx, id);
    if (row === undefined) throw notFound('The webhook');
    return row;
  }
}
