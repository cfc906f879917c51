import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { roleSetOf, storeGrants, validateGrants } from '../auth/grants.ts';
import type { Grant } from '../auth/permissions.ts';
import type { Actor } from '../auth/principal.ts';
import type { TokenService } from '../auth/tokens.ts';
import { existingAccountIds } from '../cloud-accounts/cloud-account.service.ts';
import { isUniqueViolation } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Transactions, Work } from '../db/transactions.ts';
import { AppError, describeFieldError, invalidFields, notFound, validationFailed, type FieldError } from '../http/errors.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import { timeOrderedId } from '../util/ids.ts';
import type { WebhookEventType } from '../shared/webhook-events.ts';
import { enqueueWebhookEvent } from '../webhooks/webhook-events.ts';
import { normalizeVisibleText } from '../util/names.ts';
import { DEFAULT_ROLL_GRACE_MINUTES, MAX_ROLL_GRACE_MINUTES } from '../shared/limits.ts';
import {
  DEFAULT_EXPIRATION,
  expirationOf,
  expiresAtFor,
  legacyNameKey,
  nameKey,
  normalizeDescription,
  normalizeName,
  storedExpiration,
  type AccessKey,
  type DisabledReason,
  type Expiration,
} from './access-key.ts';
import { normalizeAllowedCidrs, normalizeRateLimit, type KeyRateLimit } from './access-key-guards.ts';
import { enforceDescription, enforceLifetime, readAccessKeyPolicy, writeAccessKeyPolicy, type AccessKeyPolicy } from './access-key-policy.ts';
import { RememberedCounts } from './access-key-list-plan.ts';
import { resetExpiryWarnings } from './expiry-warnings.ts';
import {
  deleteAccessKey,
  disableAccessKey,
  enableAccessKey,
  findDormantAccessKeyRows,
  updateAccessKeyDescription,
  updateAccessKeyToken,
  findAccessKeyRow,
  findAccessKeyRowByNameKey,
  findAccessKeyRowsByIds,
  guardColumns,
  storedAllowedCidrs,
  storedRateLimit,
  updateAccessKeyGuards,
  indexAccessKeyNames,
  insertAccessKey,
  listAccessKeyRows,
  rowToAccessKey,
  sortValue,
  updateAccessKeyRoles,
  type AccessKeyQuery,
  type AccessKeySort,
} from './access-key.repository.ts';

export interface NewAccessKey {
  name: string;
  expiration?: Expiration | undefined;
  roles: Grant[];
  description?: string | null | undefined;
  /** Addresses and CIDR ranges the key may be used from; empty or absent: any. */
  allowedCidrs?: readonly string[] | undefined;
  rateLimit?: KeyRateLimit | null | undefined;
}

/** What `PATCH /api/v1/access-keys/{id}` may change; each field left out stays as it is. */
export interface AccessKeyChanges {
  roles?: Grant[] | undefined;
  /** Null or blank removes the description. */
  description?: string | null | undefined;
  disabled?: boolean | undefined;
  /** Empty: any address. */
  allowedCidrs?: readonly string[] | undefined;
  /** Null removes the limit. */
  rateLimit?: KeyRateLimit | null | undefined;
}

export interface RollOptions {
  /** Omitted: the preset or day count the key was created (or last rolled) with, from now. */
  expiration?: Expiration | undefined;
  /** How long the replaced token keeps working (never past its own expiry); default 60. */
  graceMinutes?: number | undefined;
}

export interface AccessKeyListOptions {
  limit?: number | undefined;
  cursor?: string | undefined;
  sort?: AccessKeySort | undefined;
  order?: 'asc' | 'desc' | undefined;
  name?: string | undefined;
  role?: Grant['role'] | undefined;
  status?: AccessKeyQuery['status'];
  /** With status "expiring": the window in days (default EXPIRING_WITHIN_DAYS). */
  expiringWithinDays?: number | undefined;
}

/** A leak report: what `POST /api/v1/access-keys/leaks` hands over. */
export interface LeakReport {
  /** Any text; those that are live keys of this Tessera are revoked. */
  tokens: readonly string[];
  /** Where the tokens were found (a URL, a scanner's name); kept in the audit record. */
  source?: string | null | undefined;
}

/** Tokens one leak report may hold. */
export const MAX_LEAK_REPORT_TOKENS = 1000;
/** Characters of a leak report's `source`, once trimmed. */
export const LEAK_SOURCE_MAX_LENGTH = 300;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
/** A key expiring within this many days is "expiring". */
export const EXPIRING_WITHIN_DAYS = 30;

/** The housekeeping job that runs AccessKeyService.disableDormant (src/context.ts). */
export const DORMANT_KEYS_JOB = 'dormant-access-keys';
/** Keys the dormancy job disables per unit of work. */
const DORMANT_BATCH = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Whole seconds, so that a key's `createdAt` and `expiresAt` equal its token's `iat` and `exp`. */
function wholeSeconds(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The rules of API access keys: names, expirations, grants, the token shown once, the audit record. */
export class AccessKeyService {
  /** The capped counts the list's plan is chosen on (access-key-list-plan.ts). */
  readonly #listCounts = new RememberedCounts();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
    private readonly tokens: TokenService,
    private readonly clock: () => Date,
    private readonly maxKeyDays: number,
  ) {}

  /** Creates a key; the token in the answer is the only copy that will ever exist. */
  async create(actor: Actor, input: NewAccessKey): Promise<{ key: AccessKey; token: string }> {
    const name = normalizeName(input.name);
    const description = normalizeDescription(input.description ?? null);
    const expiration = input.expiration ?? DEFAULT_EXPIRATION;
    const allowedCidrs = normalizeAllowedCidrs(input.allowedCidrs ?? []);
    const rateLimit = normalizeRateLimit(input.rateLimit ?? null);
    try {
      return await this.transactions.run(actor, async (work) => {
        const roles = await validateGrants(work.trx, input.roles, existingAccountIds);
        const createdAt = wholeSeconds(work.now);
        const expiresAt = expiresAtFor(expiration, createdAt, this.maxKeyDays);
        const policy = await readAccessKeyPolicy(work.trx);
        enforceDescription(policy, description);
        enforceLifetime(policy, roles, createdAt, expiresAt, '/expiration');
        const id = timeOrderedId(work.now.getTime());
        const { token } = await this.tokens.issue('accessKey', id, createdAt, expiresAt);
        const row = {
          id,
          name,
          name_key: nameKey(name),
          role_set: roleSetOf(roles),
          created_at: createdAt.toISOString(),
          expires_at: expiresAt.toISOString(),
          token_hash: hashToken(token),
          last_used_at: null,
          last_used_ip: null,
          use_count: 0,
          description,
          created_by: actor.name,
          expiration: storedExpiration(expiration),
          disabled_at: null,
          disabled_reason: null,
          previous_token_hash: null,
          previous_token_expires_at: null,
          reactivated_at: null,
          ...guardColumns(allowedCidrs, rateLimit),
        };
        await insertAccessKey(work.trx, row);
        await storeGrants(work.trx, 'access-key', id, roles);
        work.beforeCommit((trx) => indexAccessKeyNames(trx, [row]));
        work.audit({
          category: 'access-keys',
          resource: name,
          resourceId: id,
          action: 'add',
          detail: {
            name,
            roles,
            expiresAt: row.expires_at,
            ...(description !== null && { description }),
            ...(allowedCidrs.length > 0 && { allowedCidrs }),
            ...(rateLimit !== null && { rateLimit }),
          },
        });
        work.announce({ kind: 'access-key', id });
        const key = rowToAccessKey({ ...row, grants: roles }, work.now);
        await enqueueWebhookEvent(work, 'access_key.created', key);
        return { key, token };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('name_taken', `An access key named "${name}" already exists.`);
      throw error;
    }
  }

  async list(options: AccessKeyListOptions = {}): Promise<{ items: AccessKey[]; nextCursor: string | null }> {
    const sort = options.sort ?? 'createdAt';
    const order = options.order ?? (sort === 'name' ? 'asc' : 'desc');
    const limit = Math.min(options.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let after: AccessKeyQuery['after'];
    if (options.cursor !== undefined) {
      const [cursorSort, cursorOrder, value, id] = decodeCursor(options.cursor, 4) as [string, string, string, string];
      if (cursorSort !== sort || cursorOrder !== order) {
        const error: FieldError = { in: 'query', pointer: '/cursor', message: 'belongs to a list in another order' };
        throw invalidFields([error], `${describeFieldError(error)}; start again without a cursor`);
      }
      // A role sort's value is a ROLE_SETS position.
      if (sort === 'role' && !/^[0-9]$/.test(value)) throw validationFailed('/cursor', 'is not a cursor this list returned', 'query');
      after = { value, id };
    }
    if (options.expiringWithinDays !== undefined && options.status !== 'expiring') {
      throw invalidFields([{ in: 'query', pointer: '/expiringWithinDays', message: 'applies only with status=expiring' }]);
    }
    const now = this.clock();
    const rows = await listAccessKeyRows(
      this.db,
      {
        sort,
        order,
        limit: limit + 1,
        after,
        name: options.name,
        role: options.role,
        status: options.status,
        now,
        expiringBefore: new Date(now.getTime() + (options.expiringWithinDays ?? EXPIRING_WITHIN_DAYS) * 24 * 60 * 60 * 1000),
      },
      this.#listCounts,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = rows.length > limit && last !== undefined ? encodeCursor([sort, order, sortValue(last, sort), last.id]) : null;
    return { items: page.map((row) => rowToAccessKey(row, now)), nextCursor };
  }

  async get(id: string): Promise<AccessKey> {
    const row = await findAccessKeyRow(this.db, id);
    if (row === undefined) throw notFound('The access key');
    return rowToAccessKey(row, this.clock());
  }

  /**
   * Finds a key by its name, compared as the unique index compares (NFKC, case folded), as the
   * CLI addresses keys. A key named exactly so wins over one that only folds the same: both can
   * exist only from before migration 2026-12-07T02, and the CLI must not remove the other one.
   */
  async getByName(name: string): Promise<AccessKey> {
    const typed = name.normalize('NFC').trim();
    let row = await findAccessKeyRowByNameKey(this.db, nameKey(typed));
    if (row !== undefined && row.name !== typed) {
      const exact = await findAccessKeyRowByNameKey(this.db, legacyNameKey(typed));
      if (exact !== undefined && exact.name === typed) row = exact;
    }
    if (row === undefined) throw notFound(`The access key "${typed}"`);
    return rowToAccessKey(row, this.clock());
  }

  /** Replaces a key's roles; the next request made with the key has the new rights. */
  async editRoles(actor: Actor, id: string, roles: Grant[]): Promise<AccessKey> {
    return this.update(actor, id, { roles });
  }

  /**
   * Changes a key's roles, description and whether it is disabled, in one unit of work. New
   * roles and a disabled key take effect from the next request, on every instance.
   */
  async update(actor: Actor, id: string, changes: AccessKeyChanges): Promise<AccessKey> {
    const description = changes.description === undefined ? undefined : normalizeDescription(changes.description);
    const allowedCidrs = changes.allowedCidrs === undefined ? undefined : normalizeAllowedCidrs(changes.allowedCidrs);
    const rateLimit = changes.rateLimit === undefined ? undefined : normalizeRateLimit(changes.rateLimit);
    // Roles may be reduced, disabling, a narrower allowlist and a lower rate limit reduce access;
    // a key enabled again must work on every instance at once as well. All are answered once
    // every live instance applied them.
    const reducesAccess = changes.roles !== undefined || changes.disabled !== undefined || allowedCidrs !== undefined || rateLimit !== undefined;
    return this.transactions.run(
      actor,
      async (work) => {
        let row = await this.#existing(work, id);
        const policy = await readAccessKeyPolicy(work.trx);
        const events: WebhookEventType[] = [];
        if (changes.roles !== undefined) {
          const before = row.grants;
          const after = await validateGrants(work.trx, changes.roles, existingAccountIds);
          // The rest of the key's life, counted from now, must fit its new roles.
          enforceLifetime(policy, after, work.now, new Date(row.expires_at), '/roles');
          await updateAccessKeyRoles(work.trx, id, after);
          work.audit({ category: 'access-keys', resource: row.name, resourceId: id, action: 'edit', detail: { name: row.name, before, after } });
          row = { ...row, role_set: roleSetOf(after), grants: after };
          events.push('access_key.updated');
        }
        if (description !== undefined && description !== row.description) {
          enforceDescription(policy, description);
          await updateAccessKeyDescription(work.trx, id, description);
          work.audit({
            category: 'access-keys',
            resource: row.name,
            resourceId: id,
            action: 'edit',
            detail: { name: row.name, description: { before: row.description, after: description } },
          });
          row = { ...row, description };
          if (!events.includes('access_key.updated')) events.push('access_key.updated');
        }
        if (allowedCidrs !== undefined || rateLimit !== undefined) {
          const before = { allowedCidrs: storedAllowedCidrs(row.allowed_cidrs), rateLimit: storedRateLimit(row) };
          const after = { allowedCidrs: allowedCidrs ?? before.allowedCidrs, rateLimit: rateLimit === undefined ? before.rateLimit : rateLimit };
          if (JSON.stringify(before) !== JSON.stringify(after)) {
            const columns = guardColumns(after.allowedCidrs, after.rateLimit);
            await updateAccessKeyGuards(work.trx, id, columns);
            work.audit({ category: 'access-keys', resource: row.name, resourceId: id, action: 'edit', detail: { name: row.name, before, after } });
            row = { ...row, ...columns };
            if (!events.includes('access_key.updated')) events.push('access_key.updated');
          }
        }
        if (changes.disabled === true && row.disabled_at === null) {
          await disableAccessKey(work.trx, id, work.now, 'manual');
          this.#auditDisabled(work, row, 'manual');
          row = { ...row, disabled_at: work.now.toISOString(), disabled_reason: 'manual' };
          events.push('access_key.disabled');
        } else if (changes.disabled === false && row.disabled_at !== null) {
          await enableAccessKey(work.trx, id, work.now);
          work.audit({ category: 'access-keys', resource: row.name, resourceId: id, action: 'enable', detail: { name: row.name } });
          row = { ...row, disabled_at: null, disabled_reason: null, reactivated_at: work.now.toISOString() };
          events.push('access_key.enabled');
        }
        work.announce({ kind: 'access-key', id });
        const key = rowToAccessKey(row, work.now);
        for (const type of events) await enqueueWebhookEvent(work, type, key);
        return key;
      },
      { reducesAccess },
    );
  }

  /**
   * Gives a key a new token, shown once; the key keeps its id, name, roles, description, usage
   * and history. The replaced token keeps working for the grace period (never past its own
   * expiry); a token replaced earlier, still in its grace, ends at once: at most two live.
   */
  async roll(actor: Actor, id: string, options: RollOptions = {}): Promise<{ key: AccessKey; token: string }> {
    const graceMinutes = options.graceMinutes ?? DEFAULT_ROLL_GRACE_MINUTES;
    if (!Number.isInteger(graceMinutes) || graceMinutes < 0 || graceMinutes > MAX_ROLL_GRACE_MINUTES) {
      throw validationFailed('/graceMinutes', `must be a whole number of minutes from 0 to ${MAX_ROLL_GRACE_MINUTES}`);
    }
    // Always acknowledged by every instance: a roll without grace ends the old token at once, and
    // one within an earlier roll's grace ends that roll's old token (which rolls are, only the
    // transaction knows, and the option is chosen before it starts).
    return this.transactions.run(
      actor,
      async (work) => {
        const row = await this.#existing(work, id);
        const expiration = options.expiration ?? expirationOf(row.expiration, row.created_at, row.expires_at);
        const issuedAt = wholeSeconds(work.now);
        const expiresAt = expiresAtFor(expiration, issuedAt, this.maxKeyDays);
        enforceLifetime(await readAccessKeyPolicy(work.trx), row.grants, issuedAt, expiresAt, '/expiration');
        const { token } = await this.tokens.issue('accessKey', id, issuedAt, expiresAt);
        const graceEnd = Math.min(work.now.getTime() + graceMinutes * 60_000, Date.parse(row.expires_at));
        const graced = graceEnd > work.now.getTime();
        const rolled = {
          token_hash: hashToken(token),
          expires_at: expiresAt.toISOString(),
          expiration: storedExpiration(expiration),
          previous_token_hash: graced ? row.token_hash : null,
          previous_token_expires_at: graced ? new Date(graceEnd).toISOString() : null,
          reactivated_at: work.now.toISOString(),
        };
        await updateAccessKeyToken(work.trx, id, rolled);
        work.audit({
          category: 'access-keys',
          resource: row.name,
          resourceId: id,
          action: 'roll',
          detail: { name: row.name, expiresAt: rolled.expires_at, previousTokenExpiresAt: rolled.previous_token_expires_at },
        });
        work.announce({ kind: 'access-key', id });
        const key = rowToAccessKey({ ...row, ...rolled }, work.now);
        await resetExpiryWarnings(work, id);
        await enqueueWebhookEvent(work, 'access_key.rolled', key);
        return { key, token };
      },
      { reducesAccess: true },
    );
  }

  /**
   * Disables the enabled, unexpired keys unused for the policy's `disableAfterUnusedDays`
   * (counted from the last use, or creation if never used, or a later enabling or roll), with
   * the reason `dormant`. The housekeeping job runs it; returns how many it disabled.
   */
  async disableDormant(actor: Actor): Promise<number> {
    const policy = await readAccessKeyPolicy(this.db);
    if (policy.disableAfterUnusedDays === null) return 0;
    let disabled = 0;
    for (;;) {
      const now = this.clock();
      const since = new Date(now.getTime() - policy.disableAfterUnusedDays * DAY_MS);
      const batch = await findDormantAccessKeyRows(this.db, since, now, DORMANT_BATCH);
      if (batch.length === 0) return disabled;
      disabled += await this.transactions.run(
        actor,
        async (work) => {
          // Read again inside the unit: a key used, enabled or disabled since the search is left alone.
          const still = new Set((await findDormantAccessKeyRows(work.trx, since, work.now, DORMANT_BATCH)).map((row) => row.id));
          let count = 0;
          for (const row of batch) {
            if (!still.has(row.id)) continue;
            await disableAccessKey(work.trx, row.id, work.now, 'dormant');
            this.#auditDisabled(work, row, 'dormant', policy.disableAfterUnusedDays);
            work.announce({ kind: 'access-key', id: row.id });
            const disabledKey = await findAccessKeyRow(work.trx, row.id);
            if (disabledKey !== undefined) await enqueueWebhookEvent(work, 'access_key.disabled', rowToAccessKey(disabledKey, work.now));
            count++;
          }
          return count;
        },
        { reducesAccess: true },
      );
      if (batch.length < DORMANT_BATCH) return disabled;
    }
  }

  #auditDisabled(work: Work, row: { id: string; name: string }, reason: DisabledReason, unusedDays?: number | null): void {
    work.audit({
      category: 'access-keys',
      resource: row.name,
      resourceId: row.id,
      action: 'disable',
      detail: { name: row.name, reason, ...(unusedDays != null && { unusedDays }) },
    });
  }

  async policy(): Promise<AccessKeyPolicy> {
    return readAccessKeyPolicy(this.db);
  }

  /** Replaces the access key policy; limits apply to keys created, rolled or edited from now on. */
  async setPolicy(actor: Actor, policy: AccessKeyPolicy): Promise<AccessKeyPolicy> {
    for (const [role, days] of Object.entries(policy.maxDays)) {
      if (days !== null && days > this.maxKeyDays) {
        throw validationFailed(`/maxDays/${role}`, `must be at most ${this.maxKeyDays} days (TESSERA_MAX_KEY_DAYS)`);
      }
    }
    return this.transactions.run(actor, async (work) => {
      const before = await readAccessKeyPolicy(work.trx);
      await writeAccessKeyPolicy(work.trx, policy, work.now);
      work.audit({ category: 'settings', resource: 'access-key-policy', resourceId: null, action: 'edit', detail: { before, after: policy } });
      return policy;
    });
  }

  /** Removes a key; its token is refused from the next request on. */
  async remove(actor: Actor, id: string): Promise<void> {
    await this.transactions.run(
      actor,
      async (work) => {
        const row = await this.#existing(work, id);
        await deleteAccessKey(work.trx, id);
        work.audit({ category: 'access-keys', resource: row.name, resourceId: id, action: 'delete', detail: { name: row.name } });
        work.announce({ kind: 'access-key', id });
        await enqueueWebhookEvent(work, 'access_key.removed', rowToAccessKey(row, work.now));
      },
      { reducesAccess: true },
    );
  }

  /**
   * Revokes every key whose token is in the report and still opens it: the signature valid, the
   * key still there, and the token its current one (unexpired) or the one a roll replaced, in
   * its grace period. A disabled key counts (enabling it would bring the leaked token back).
   * Each is removed in one access-reducing unit, acknowledged by every instance before this
   * returns, and audited as `access_key.leaked` (action `leak`) with the source. Returns how
   * many were revoked, for the log: the caller must not tell the reporter (no oracle).
   *
   * Every token goes through the same steps whatever it is, with no early exit: a signature
   * check (whose outcome anyone can compute with the JWKS) and, for the genuine ones, one
   * lookup of all their keys together.
   */
  async revokeLeaked(actor: Actor, report: LeakReport): Promise<number> {
    const source = report.source == null || report.source.normalize('NFC').trim() === '' ? null : normalizeVisibleText(report.source, '/source', LEAK_SOURCE_MAX_LENGTH);
    const hashesByKey = new Map<string, Set<string>>();
    for (const token of new Set(report.tokens.map((text) => text.trim()))) {
      const check = await this.tokens.verify('accessKey', token);
      if (!check.ok) continue;
      const hashes = hashesByKey.get(check.claims.sub) ?? new Set<string>();
      hashes.add(hashToken(token));
      hashesByKey.set(check.claims.sub, hashes);
    }
    if (hashesByKey.size === 0) return 0;
    return this.transactions.run(
      actor,
      async (work) => {
        let revoked = 0;
        const now = work.now.getTime();
        for (const row of await findAccessKeyRowsByIds(work.trx, [...hashesByKey.keys()])) {
          const hashes = hashesByKey.get(row.id);
          const current = hashes?.has(row.token_hash) === true && Date.parse(row.expires_at) > now;
          const previous =
            row.previous_token_hash !== null &&
            row.previous_token_expires_at !== null &&
            hashes?.has(row.previous_token_hash) === true &&
            Date.parse(row.previous_token_expires_at) > now;
          if (!current && !previous) continue;
          if (!(await deleteAccessKey(work.trx, row.id))) continue;
          const which = current ? 'current' : 'previous';
          work.audit({ category: 'access-keys', resource: row.name, resourceId: row.id, action: 'leak', detail: { name: row.name, source, token: which } });
          // The key as the API showed it, where the report came from, and which of its tokens.
          await enqueueWebhookEvent(work, 'access_key.leaked', { ...rowToAccessKey(row, work.now), source, reportedToken: which });
          work.announce({ kind: 'access-key', id: row.id });
          revoked++;
        }
        return revoked;
      },
      { reducesAccess: true },
    );
  }

  async #existing(work: Work, id: string) {
    const row = await findAccessKeyRow(work.trx, id);
    if (row === undefined) throw notFound('The access key');
    return row;
  }
}
