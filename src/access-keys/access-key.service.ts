import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { validateGrants } from '../auth/grants.ts';
import type { Grant } from '../auth/permissions.ts';
import type { Actor } from '../auth/principal.ts';
import type { TokenService } from '../auth/tokens.ts';
import { isUniqueViolation } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Transactions, Work } from '../db/transactions.ts';
import { AppError, describeFieldError, invalidFields, notFound, type FieldError } from '../http/errors.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import { timeOrderedId } from '../util/ids.ts';
import { enqueueWebhookEvent } from '../webhooks/webhook-events.ts';
import { DEFAULT_EXPIRATION, expiresAtFor, legacyNameKey, nameKey, normalizeName, type AccessKey, type Expiration } from './access-key.ts';
import {
  deleteAccessKey,
  findAccessKeyRow,
  findAccessKeyRowByNameKey,
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

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
/** A key expiring within this many days is "expiring". */
export const EXPIRING_WITHIN_DAYS = 30;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The rules of API access keys: names, expirations, grants, the token shown once, the audit record. */
export class AccessKeyService {
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
    const expiration = input.expiration ?? DEFAULT_EXPIRATION;
    try {
      return await this.transactions.run(actor, async (work) => {
        const roles = await validateGrants(work.trx, input.roles);
        // Whole seconds, so that `createdAt` and `expiresAt` equal the token's `iat` and `exp`.
        const createdAt = new Date(Math.floor(work.now.getTime() / 1000) * 1000);
        const expiresAt = expiresAtFor(expiration, createdAt, this.maxKeyDays);
        const id = timeOrderedId(work.now.getTime());
        const { token } = await this.tokens.issue('accessKey', id, createdAt, expiresAt);
        const row = {
          id,
          name,
          name_key: nameKey(name),
          roles: JSON.stringify(roles),
          created_at: createdAt.toISOString(),
          expires_at: expiresAt.toISOString(),
          token_hash: hashToken(token),
          last_used_at: null,
          last_used_ip: null,
          use_count: 0,
        };
        await insertAccessKey(work.trx, row);
        work.beforeCommit((trx) => indexAccessKeyNames(trx, [row]));
        work.audit({
          category: 'access-keys',
          resource: name,
          resourceId: id,
          action: 'add',
          detail: { name, roles, expiresAt: row.expires_at },
        });
        work.announce({ kind: 'access-key', id });
        const key = rowToAccessKey(row, work.now);
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
      after = { value, id };
    }
    if (options.expiringWithinDays !== undefined && options.status !== 'expiring') {
      throw invalidFields([{ in: 'query', pointer: '/expiringWithinDays', message: 'applies only with status=expiring' }]);
    }
    const now = this.clock();
    const rows = await listAccessKeyRows(this.db, {
      sort,
      order,
      limit: limit + 1,
      after,
      name: options.name,
      role: options.role,
      status: options.status,
      now,
      expiringBefore: new Date(now.getTime() + (options.expiringWithinDays ?? EXPIRING_WITHIN_DAYS) * 24 * 60 * 60 * 1000),
    });
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
    return this.transactions.run(
      actor,
      async (work) => {
        const row = await this.#existing(work, id);
        const before = JSON.parse(row.roles) as Grant[];
        const after = await validateGrants(work.trx, roles);
        await updateAccessKeyRoles(work.trx, id, after);
        work.audit({ category: 'access-keys', resource: row.name, resourceId: id, action: 'edit', detail: { name: row.name, before, after } });
        work.announce({ kind: 'access-key', id });
        const key = rowToAccessKey({ ...row, roles: JSON.stringify(after) }, work.now);
        await enqueueWebhookEvent(work, 'access_key.updated', key);
        return key;
      },
      { reducesAccess: true },
    );
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

  async #existing(work: Work, id: string) {
    const row = await findAccessKeyRow(work.trx, id);
    if (row === undefined) throw notFound('The access key');
    return row;
  }
}
