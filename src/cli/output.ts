import type { AccessKey } from '../access-keys/access-key.ts';
import type { User } from '../users/user.ts';
import { formatGrants } from './role-argument.ts';

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600_000],
  ['month', 30 * 24 * 3600_000],
  ['day', 24 * 3600_000],
  ['hour', 3600_000],
  ['minute', 60_000],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * A time a person reads at a glance: how far from now ("3 days ago", "in 6 months"), then the
 * day in UTC. `--json` keeps the ISO 8601 timestamps.
 */
export function readableTime(iso: string | null, now: Date, never = 'never'): string {
  if (iso === null) return never;
  const at = new Date(iso);
  const distance = at.getTime() - now.getTime();
  const [unit, size] = UNITS.find(([, ms]) => Math.abs(distance) >= ms) ?? ['minute', 60_000];
  const amount = Math.round(distance / size);
  const phrase = amount === 0 ? (distance < 0 ? 'just now' : 'in a moment') : relative.format(amount, unit);
  return `${phrase} (${iso.slice(0, 10)})`;
}

/** Rows under a header, columns as wide as their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatKeyTable(keys: AccessKey[], now: Date): string {
  if (keys.length === 0) return 'No access keys.';
  return table(
    ['NAME', 'ROLES', 'CREATED', 'EXPIRES', 'LAST USED', 'STATUS'],
    keys.map((k) => [k.name, formatGrants(k.roles), readableTime(k.createdAt, now), readableTime(k.expiresAt, now), readableTime(k.lastUsedAt, now), k.status]),
  );
}

/** One key as `keys get` shows it: one labelled line per field. */
export function formatKeyDetails(key: AccessKey, now: Date): string {
  const lines: [string, string][] = [
    ['Name', key.name],
    ['ID', key.id],
    ['Status', key.status],
    ['Roles', formatGrants(key.roles)],
    ['Description', key.description ?? '—'],
    ['Created', `${readableTime(key.createdAt, now)} by ${key.createdBy}`],
    ['Expires', readableTime(key.expiresAt, now)],
    ['Last used', key.lastUsedAt === null ? 'never' : `${readableTime(key.lastUsedAt, now)}${key.lastUsedIp === null ? '' : ` from ${key.lastUsedIp}`}`],
  ];
  if (key.previousTokenExpiresAt !== null) lines.push(['Old token works until', readableTime(key.previousTokenExpiresAt, now)]);
  const width = Math.max(...lines.map(([label]) => label.length)) + 1;
  return lines.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`).join('\n');
}

export function formatUserTable(users: User[], now: Date): string {
  if (users.length === 0) return 'No users.';
  return table(
    ['EMAIL', 'NAME', 'ROLES', 'STATUS', 'LAST SIGN-IN'],
    users.map((u) => [u.email, u.displayName, formatGrants(u.roles), u.primary ? `${u.status} (primary)` : u.status, readableTime(u.lastSignInAt, now)]),
  );
}
