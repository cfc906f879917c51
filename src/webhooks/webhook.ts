import { randomBytes } from 'node:crypto';
import { validationFailed } from '../http/errors.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../shared/webhook-events.ts';
import { isPrivateAddress, literalAddress } from './addresses.ts';

export { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../shared/webhook-events.ts';

/** Sent by `POST /api/v1/webhooks/{id}/test` to that webhook only, whatever it subscribes to. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** A webhook as the API shows it: never its secret. */
export interface Webhook {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryAttempt {
  at: string;
  /** The receiver's HTTP status; null when none came (a timeout, a refused address…). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** One event sent to one webhook, and how its attempts went. */
export interface Delivery {
  /** The `webhook-id` header: the same on every attempt. */
  id: string;
  type: string;
  createdAt: string;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

export const WEBHOOK_URL_MAX_LENGTH = 2048;
export const WEBHOOK_DESCRIPTION_MAX_LENGTH = 500;
/** Webhooks at most: each change is sent to every subscriber, within its transaction's outbox write. */
export const MAX_WEBHOOKS = 50;

/** How long a delivery is retried, counted from the event. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
/**
 * The wait after each failed attempt (the first attempt is immediate): 11 attempts spread
 * over 23 h 43 min, the last inside the 24-hour window.
 */
export const RETRY_DELAYS_MS: readonly number[] = [5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800].map((s) => s * 1000);

/** When the attempt after `attempts` failed ones is due, or null when the delivery has failed for good. */
export function nextAttemptAt(createdAt: Date, attemptedAt: Date, attempts: number): Date | null {
  const delay = RETRY_DELAYS_MS[attempts - 1];
  if (delay === undefined) return null;
  const next = new Date(attemptedAt.getTime() + delay);
  return next.getTime() - createdAt.getTime() > RETRY_WINDOW_MS ? null : next;
}

/** A new signing secret in the form the Standard Webhooks libraries read: `whsec_` and 32 random bytes, base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Checks a webhook URL's form (absolute http or https, no user name or password, no fragment)
 * and, unless private addresses are allowed, that a literal address in it is public.
 * A host name is checked when it is resolved, at creation and on every delivery.
 */
export function parseWebhookUrl(raw: string, allowPrivate: boolean, pointer = '/url'): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw validationFailed(pointer, 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw validationFailed(pointer, 'must be an http or https URL');
  if (url.username !== '' || url.password !== '') throw validationFailed(pointer, 'must not hold a user name or password (put a token in the path or query instead)');
  if (url.hash !== '') throw validationFailed(pointer, 'must not have a fragment (#…)');
  if (url.href.length > WEBHOOK_URL_MAX_LENGTH) throw validationFailed(pointer, `must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`);
  if (!allowPrivate) {
    const address = literalAddress(url.hostname);
    if (address !== undefined && isPrivateAddress(address)) throw privateAddressRefused(pointer);
    if (address === undefined && isLocalName(url.hostname)) throw privateAddressRefused(pointer);
  }
  return url;
}

/** Names that resolve to this machine or the local network by convention, whatever DNS says. */
function isLocalName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name.endsWith('.local') || name.endsWith('.internal') || !name.includes('.');
}

export const privateAddressRefused = (pointer = '/url') =>
  validationFailed(pointer, 'points at a loopback, private or link-local address, which is refused (set TESSERA_WEBHOOK_ALLOW_PRIVATE=true for on-premises receivers)');

/** The description as stored: trimmed, null when blank. */
export function normalizeDescription(raw: string | null | undefined): string | null {
  if (raw === undefined || raw === null) return null;
  const text = raw.normalize('NFC').trim();
  if (text.length > WEBHOOK_DESCRIPTION_MAX_LENGTH) throw validationFailed('/description', `must be at most ${WEBHOOK_DESCRIPTION_MAX_LENGTH} characters`);
  return text === '' ? null : text;
}

/** Event types in the order of WEBHOOK_EVENT_TYPES, each once. */
export function normalizeEvents(events: readonly string[]): WebhookEventType[] {
  const wanted = new Set(events);
  return WEBHOOK_EVENT_TYPES.filter((type) => wanted.has(type));
}
