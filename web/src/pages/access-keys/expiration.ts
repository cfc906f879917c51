import { expiresAtFor } from '../../../../src/access-keys/access-key.ts';
import { DEFAULT_MAX_KEY_DAYS } from '../../../../src/shared/limits.ts';
import type { AccessKeyPolicy, Expiration, Grant } from '../../api/types';
import { ROLE_TITLES } from '../../lib/roles';

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
const DAY_MS = 86_400_000;

/** When a key made now with this choice would expire: the server's own arithmetic (src/access-keys/access-key.ts). */
export function expiryDate(choice: ExpirationChoice, days: number, now: Date = new Date()): Date | undefined {
  if (choice !== 'custom') return expiresAtFor(choice, now, MAX_DAYS);
  return Number.isInteger(days) && days >= 1 ? new Date(now.getTime() + days * DAY_MS) : undefined;
}

export function toExpiration(choice: ExpirationChoice, days: number): Expiration {
  return choice === 'custom' ? { days } : choice;
}

/** The access key policy's lifetime limit for a key with these roles: the smallest among them (as the server checks it). */
export interface LifetimeLimit {
  days: number;
  role: Grant['role'];
}

export function lifetimeLimit(policy: AccessKeyPolicy | undefined, roles: ReadonlyArray<{ role: Grant['role'] | null }>): LifetimeLimit | undefined {
  let limit: LifetimeLimit | undefined;
  for (const { role } of roles) {
    if (role === null) continue;
    const days = policy?.maxDays[role] ?? null;
    if (days !== null && (limit === undefined || days < limit.days)) limit = { days, role };
  }
  return limit;
}

export function describeLimit(limit: LifetimeLimit): string {
  return `At most ${limit.days} ${limit.days === 1 ? 'day' : 'days'} for ${ROLE_TITLES[limit.role]} (access key policy).`;
}

/** The expiration choices a limit allows (custom stays, bounded by it), counted from `now`. */
export function allowedOptions(limit: LifetimeLimit | undefined, now: Date = new Date()) {
  if (limit === undefined) return [...EXPIRATION_OPTIONS];
  const latest = now.getTime() + limit.days * DAY_MS;
  return EXPIRATION_OPTIONS.filter((o) => o.id === 'custom' || expiresAtFor(o.id, now, MAX_DAYS).getTime() <= latest);
}

/** The longest custom day count allowed. */
export function maxDaysFor(limit: LifetimeLimit | undefined): number {
  return limit === undefined ? MAX_DAYS : Math.min(MAX_DAYS, limit.days);
}
