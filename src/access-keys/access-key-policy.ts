import type { Grant, Role } from '../auth/permissions.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../http/errors.ts';

/**
 * Limits a Global Admin sets on keys (`/api/v1/settings/access-key-policy`): the longest
 * lifetime per role (null: only TESSERA_MAX_KEY_DAYS, the hard ceiling, applies), after how
 * many days unused a key is disabled, and whether a key must have a description.
 */
export interface AccessKeyPolicy {
  maxDays: Record<Role, number | null>;
  disableAfterUnusedDays: number | null;
  requireDescription: boolean;
}

export const DEFAULT_ACCESS_KEY_POLICY: AccessKeyPolicy = Object.freeze({
  maxDays: Object.freeze({ 'global-admin': null, 'global-viewer': null, 'cloud-account-viewer': null }),
  disableAfterUnusedDays: null,
  requireDescription: false,
});

const SETTING = 'access-key-policy';
const DAY_MS = 24 * 60 * 60 * 1000;

export async function readAccessKeyPolicy(db: Db): Promise<AccessKeyPolicy> {
  const row = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirst();
  if (row === undefined) return DEFAULT_ACCESS_KEY_POLICY;
  const stored = JSON.parse(row.value) as Partial<AccessKeyPolicy>;
  return {
    maxDays: { ...DEFAULT_ACCESS_KEY_POLICY.maxDays, ...stored.maxDays },
    disableAfterUnusedDays: stored.disableAfterUnusedDays ?? null,
    requireDescription: stored.requireDescription === true,
  };
}

export async function writeAccessKeyPolicy(db: Db, policy: AccessKeyPolicy, now: Date): Promise<void> {
  const value = JSON.stringify(policy);
  const updatedAt = now.toISOString();
  await db
    .insertInto('settings')
    .values({ name: SETTING, value, updated_at: updatedAt })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: updatedAt }))
    .execute();
}

/** The smallest lifetime limit among `roles`, and the role that sets it; undefined when none is limited. */
export function strictestLimit(policy: AccessKeyPolicy, roles: readonly Grant[]): { role: Role; days: number } | undefined {
  let strictest: { role: Role; days: number } | undefined;
  for (const { role } of roles) {
    const days = policy.maxDays[role];
    if (days !== null && (strictest === undefined || days < strictest.days)) strictest = { role, days };
  }
  return strictest;
}

/**
 * Refuses (400 policy_violation, naming the role and its limit) a key of `roles` that would
 * live until `expiresAt`, counted from `from`, longer than its roles allow. `pointer` is the
 * field that asked for it (`/expiration`, or `/roles` for a role edit).
 */
export function enforceLifetime(policy: AccessKeyPolicy, roles: readonly Grant[], from: Date, expiresAt: Date, pointer: string): void {
  const limit = strictestLimit(policy, roles);
  if (limit === undefined || expiresAt.getTime() <= from.getTime() + limit.days * DAY_MS) return;
  const message = `must be at most ${limit.days} days for a key with the role ${limit.role} (access key policy)`;
  throw new AppError(
    'policy_violation',
    `The access key policy allows keys with the role ${limit.role} to live at most ${limit.days} days; this key would expire on ${expiresAt.toISOString()}.`,
    { errors: [{ in: 'body', pointer, message }], role: limit.role, maxDays: limit.days },
  );
}

/** Refuses a key without a description when the policy requires one. */
export function enforceDescription(policy: AccessKeyPolicy, description: string | null): void {
  if (policy.requireDescription && description === null) {
    throw new AppError('policy_violation', 'The access key policy requires a description.', {
      errors: [{ in: 'body', pointer: '/description', message: 'is required by the access key policy' }],
    });
  }
}
