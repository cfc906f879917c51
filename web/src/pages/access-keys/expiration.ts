import { expiresAtFor } from '../../../../src/access-keys/access-key.ts';
import { DEFAULT_MAX_KEY_DAYS } from '../../../../src/shared/limits.ts';
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
export const MAX_DAYS = DEFAULT_MAX_KEY_DAYS;

/** When a key made now with this choice would expire: the server's own arithmetic (src/access-keys/access-key.ts). */
export function expiryDate(choice: ExpirationChoice, days: number, now: Date = new Date()): Date | undefined {
  if (choice !== 'custom') return expiresAtFor(choice, now, MAX_DAYS);
  return Number.isInteger(days) && days >= 1 ? new Date(now.getTime() + days * 86_400_000) : undefined;
}

export function toExpiration(choice: ExpirationChoice, days: number): Expiration {
  return choice === 'custom' ? { days } : choice;
}
