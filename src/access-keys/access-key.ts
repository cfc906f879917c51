import type { Grant } from '../auth/permissions.ts';
import type { KeyRateLimit } from './access-key-guards.ts';
import { validationFailed } from '../http/errors.ts';
import { ACCESS_KEY_DESCRIPTION_MAX_LENGTH, ACCESS_KEY_NAME_MAX_LENGTH } from '../shared/limits.ts';
import { comparisonKey, normalizeVisibleText } from '../util/names.ts';

/** An API access key as the API shows it: never its token, never its hash. */
export interface AccessKey {
  id: string;
  name: string;
  roles: Grant[];
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  useCount: number;
  status: AccessKeyStatus;
  description: string | null;
  /** Who created the key, as the audit log names actors. */
  createdBy: string | null;
  /** After a roll with a grace period: until when the replaced token still works; null otherwise. */
  previousTokenExpiresAt: string | null;
  /** Addresses and CIDR ranges the key may be used from; empty: any. */
  allowedCidrs: string[];
  rateLimit: KeyRateLimit | null;
}

/** `expired` wins over `disabled`: what brings an expired key back is a roll, not enabling it. */
export type AccessKeyStatus = 'active' | 'expired' | 'disabled';

/** Why a key was disabled: by an admin, or by the housekeeping job for going unused (policy). */
export type DisabledReason = 'manual' | 'dormant';

export const EXPIRATION_PRESETS = ['7d', '30d', '90d', '6mo', '1y'] as const;
export type ExpirationPreset = (typeof EXPIRATION_PRESETS)[number];
export type Expiration = ExpirationPreset | { days: number };
export const DEFAULT_EXPIRATION: ExpirationPreset = '6mo';

/** A key name as stored: NFC, trimmed, at most ACCESS_KEY_NAME_MAX_LENGTH visible characters (see normalizeVisibleText). */
export function normalizeName(raw: string): string {
  return normalizeVisibleText(raw, '/name', ACCESS_KEY_NAME_MAX_LENGTH);
}

/** A description as stored: as a name is (normalizeVisibleText), at most 500 characters; empty means none. */
export function normalizeDescription(raw: string | null): string | null {
  if (raw === null || raw.normalize('NFC').trim() === '') return null;
  return normalizeVisibleText(raw, '/description', ACCESS_KEY_DESCRIPTION_MAX_LENGTH);
}

/**
 * The form of a name the unique index compares, the list's name filter searches and the CLI
 * looks keys up by (NFKC and case folded): `ｃｉ-ｂｏｔ` and `CI-Bot` are the name `ci-bot`.
 */
export function nameKey(name: string): string {
  return comparisonKey(name);
}

/**
 * The name key as it was before migration 2026-12-07T02 (NFC, lower case). Two keys whose names
 * were distinct then but fold to one name now both exist; the later one kept this form, and a
 * lookup by its exact name finds it through this (AccessKeyService.getByName).
 */
export function legacyNameKey(name: string): string {
  return name.normalize('NFC').toLocaleLowerCase('und');
}

/** Adds calendar months in UTC; a day that does not exist in the target month becomes its last day. */
export function addMonths(from: Date, months: number): Date {
  const year = from.getUTCFullYear();
  const month = from.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const result = new Date(from);
  result.setUTCFullYear(year, month, Math.min(from.getUTCDate(), lastDay));
  return result;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * When a key created at `createdAt` expires. `maxDays` (TESSERA_MAX_KEY_DAYS) is the hard
 * ceiling: a custom period past it is refused, and so is a preset that lasts longer (on a server
 * that allows fewer days than a preset, the default of six months included).
 */
export function expiresAtFor(expiration: Expiration, createdAt: Date, maxDays: number): Date {
  if (typeof expiration === 'object') {
    const { days } = expiration;
    // The HTTP schema refuses these first; the CLI on the server's database comes straight here,
    // and says it in the same words.
    if (!Number.isInteger(days) || days < 1 || days > maxDays) {
      throw validationFailed('/expiration/days', `must be a whole number from 1 to ${maxDays}`);
    }
    return new Date(createdAt.getTime() + days * DAY_MS);
  }
  const expiresAt = presetExpiry(expiration, createdAt);
  if (expiresAt.getTime() - createdAt.getTime() > maxDays * DAY_MS) {
    throw validationFailed('/expiration', `${expiration} is longer than this server allows: choose at most ${maxDays} days (TESSERA_MAX_KEY_DAYS)`);
  }
  return expiresAt;
}

function presetExpiry(preset: ExpirationPreset, createdAt: Date): Date {
  switch (preset) {
    case '7d':
      return new Date(createdAt.getTime() + 7 * DAY_MS);
    case '30d':
      return new Date(createdAt.getTime() + 30 * DAY_MS);
    case '90d':
      return new Date(createdAt.getTime() + 90 * DAY_MS);
    case '6mo':
      return addMonths(createdAt, 6);
    case '1y':
      return addMonths(createdAt, 12);
  }
}

/** The expiration as the `expiration` column keeps it: the preset, or `days:N`. */
export function storedExpiration(expiration: Expiration): string {
  return typeof expiration === 'object' ? `days:${expiration.days}` : expiration;
}

/**
 * The expiration a key was created with, to repeat on a roll. A key from before it was kept
 * gets the day count its token was issued for.
 */
export function expirationOf(stored: string | null, createdAt: string, expiresAt: string): Expiration {
  if (stored !== null) {
    if (stored.startsWith('days:')) return { days: Number(stored.slice(5)) };
    if ((EXPIRATION_PRESETS as readonly string[]).includes(stored)) return stored as ExpirationPreset;
  }
  return { days: Math.max(1, Math.round((Date.parse(expiresAt) - Date.parse(createdAt)) / DAY_MS)) };
}

export function statusAt(expiresAt: string, disabledAt: string | null, now: Date): AccessKeyStatus {
  if (Date.parse(expiresAt) <= now.getTime()) return 'expired';
  return disabledAt !== null ? 'disabled' : 'active';
}
