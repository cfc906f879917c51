/**
 * The events a webhook can subscribe to (the console imports this list too). `data` is the
 * access key as the API shows it (never a token); `access_key.expiring` adds `daysLeft` and
 * `warningDays`.
 */
export const WEBHOOK_EVENT_TYPES = [
  'access_key.created',
  'access_key.updated',
  'access_key.removed',
  'access_key.rolled',
  'access_key.disabled',
  'access_key.enabled',
  'access_key.expiring',
  'access_key.expired',
  'access_key.leaked',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
