import type { Expiration } from '../../api/types';

export const EXPIRATION_OPTIONS = [
  { id: '7d', label: '7 days' },
  { id: '30d', label: '30 days' },
  { id: '90d', label: '90 days' },
  { id: '6mo', label: '6 months' },
  { id: '1y', label: '1 year' },
  { id: 'custom', label: 'Custom' },
] as const;
export type ExpirationChoice = (typeof EXPIRATION_OPTIONS)[number]['id'];

/** The server's default upper bound for custom days (TESSERA_MAX_KEY_DAYS may change it; the server has the last word). */
export const MAX_DAYS = 730;

function addMonths(from: Date, months: number): Date {
  const date = new Date(from);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const last = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate();
  date.setUTCDate(Math.min(day, last));
  return date;
}

/** When a key made now with this choice would expire (as the server computes it). */
export function expiryDate(choice: ExpirationChoice, days: number, now: Date = new Date()): Date | undefined {
  const plusDays = (n: number) => new Date(now.getTime() + n * 86_400_000);
  switch (choice) {
    case '7d': return plusDays(7);
    case '30d': return plusDays(30);
    case '90d': return plusDays(90);
    case '6mo': return addMonths(now, 6);
    case '1y': return addMonths(now, 12);
    case 'custom': return Number.isInteger(days) && days >= 1 ? plusDays(days) : undefined;
  }
}

export function toExpiration(choice: ExpirationChoice, days: number): Expiration {
  return choice === 'custom' ? { days } : choice;
}
