import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { removeAccountFromGrants } from '../auth/grants.ts';
import { ALL_ACCOUNTS, type AccountScope } from '../auth/permissions.ts';
import type { Actor } from '../auth/principal.ts';
import { isUniqueViolation, type Db } from '../db/database.ts';
import type { CloudAccountRow, Database } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { AppError, notFound, validationFailed } from '../http/errors.ts';
import { codePointLength, STATUS_DETAIL_MAX_LENGTH } from '../shared/limits.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import { removeAssetsOfAccount } from '../assets/asset.public.ts';
import { findCredential } from '../credentials/credential.public.ts';
import { normalizeDisplayName, normalizeExternalId, type AccountStatus, type CloudAccount, type Vendor } from './cloud-account.ts';
import {
  deleteCloudAccountRow,
  existingAccountIds as existingAccountIdsIn,
  findCloudAccountRow,
  insertCloudAccount,
  listCloudAccountRows,
  rowToCloudAccount,
  updateCloudAccountRow,
} from './cloud-account.repository.ts';

/** The subset of `ids` that exist as cloud accounts: how other features check the accounts they name. */
export function existingAccountIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  return existingAccountIdsIn(db, ids);
}

export interface NewCloudAccount {
  vendor: Vendor;
  displayName: string;
  externalId: string;
  credentialId?: string | null | undefined;
  status?: AccountStatus | undefined;
  statusDetail?: string | null | undefined;
}

export interface CloudAccountEdit {
  displayName?: string | undefined;
  externalId?: string | undefined;
  credentialId?: string | null | undefined;
  status?: AccountStatus | undefined;
  statusDetail?: string | null | undefined;
}

export interface CloudAccountListOptions {
  limit?: number | undefined;
  cursor?: string | undefined;
  vendor?: Vendor | undefined;
  status?: AccountStatus | undefined;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

function normalizeStatusDetail(detail: string | null | undefined): string | null {
  if (detail === undefined || detail === null) return null;
  const text = detail.trim();
  if (codePointLength(text) > STATUS_DETAIL_MAX_LENGTH) throw validationFailed('/statusDetail', `must be at most ${STATUS_DETAIL_MAX_LENGTH} characters`);
  return text === '' ? null : text;
}

/** Cloud accounts: the vendor's id validated, a credential of the same vendor, and grants kept consistent on delete. */
export class CloudAccountService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
  ) {}

  async list(scope: AccountScope, options: CloudAccountListOptions = {}): Promise<{ items: CloudAccount[]; nextCursor: string | null }> {
    const limit = Math.min(options.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let after: { name: string; id: string } | undefined;
    if (options.cursor !== undefined) {
      const [name, id] = decodeCursor(options.cursor, 2) as [string, string];
      after = { name, id };
    }
    const rows = await listCloudAccountRows(this.db, { scope, limit: limit + 1, after, vendor: options.vendor, status: options.status });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = rows.length > limit && last !== undefined ? encodeCursor([last.display_name, last.id]) : null;
    return { items: page.map(rowToCloudAccount), nextCursor };
  }

  /** One account; outside the scope it does not exist (404). */
  async get(scope: AccountScope, id: string): Promise<CloudAccount> {
    const row = await findCloudAccountRow(this.db, id, scope);
    if (row === undefined) throw notFound('The cloud account');
    return rowToCloudAccount(row);
  }

  /** Adds an account. `id` is for the demo seeder only (stable ids); the API always generates one. */
  async create(actor: Actor, input: NewCloudAccount, id: string = randomUUID()): Promise<CloudAccount> {
    const displayName = normalizeDisplayName(input.displayName);
    const externalId = normalizeExternalId(input.vendor, input.externalId);
    const credentialId = input.credentialId ?? null;
    try {
      // Acknowledged as a reduction is: every instance's cached list shows the account from the answer on.
      return await this.transactions.run(
        actor,
        async (work) => {
          if (credentialId !== null) await this.#checkCredential(work.trx, input.vendor, credentialId);
          const row: CloudAccountRow = {
            id,
            vendor: input.vendor,
            display_name: displayName,
            external_id: externalId,
            status: input.status ?? (credentialId === null ? 'error' : 'connected'),
            status_detail: input.status === undefined && credentialId === null ? 'No credential is attached.' : normalizeStatusDetail(input.statusDetail),
            credential_id: credentialId,
            created_at: work.now.toISOString(),
          };
          await insertCloudAccount(work.trx, row);
          work.audit({
            category: 'cloud-accounts',
            resource: displayName,
            resourceId: id,
            action: 'add',
            detail: { vendor: row.vendor, displayName, externalId, credentialId, status: row.status },
          });
          work.announce({ kind: 'cloud-account', id });
          return rowToCloudAccount(row);
        },
        { reducesAccess: true },
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('conflict', `A ${input.vendor} cloud account with the id ${externalId} already exists.`);
      throw error;
    }
  }

  async edit(actor: Actor, scope: AccountScope, id: string, edit: CloudAccountEdit): Promise<CloudAccount> {
    try {
      return await this.transactions.run(
        actor,
        async (work) => {
          const row = await findCloudAccountRow(work.trx, id, scope);
          if (row === undefined) throw notFound('The cloud account');
          const vendor = row.vendor as Vendor;
          const next: CloudAccountRow = { ...row };
          if (edit.displayName !== undefined) next.display_name = normalizeDisplayName(edit.displayName);
          if (edit.externalId !== undefined) next.external_id = normalizeExternalId(vendor, edit.externalId);
          if (edit.credentialId !== undefined) {
            if (edit.credentialId !== null) await this.#checkCredential(work.trx, vendor, edit.credentialId);
            next.credential_id = edit.credentialId;
          }
          if (edit.status !== undefined) {
            next.status = edit.status;
            next.status_detail = normalizeStatusDetail(edit.statusDetail);
          } else if (edit.statusDetail !== undefined) {
            next.status_detail = normalizeStatusDetail(edit.statusDetail);
          }
          const changed: Record<string, { before: unknown; after: unknown }> = {};
          for (const [field, column] of [
            ['displayName', 'display_name'],
            ['externalId', 'external_id'],
            ['credentialId', 'credential_id'],
            ['status', 'status'],
            ['statusDetail', 'status_detail'],
          ] as const) {
            if (row[column] !== next[column]) changed[field] = { before: row[column], after: next[column] };
          }
          if (Object.keys(changed).length > 0) {
            await updateCloudAccountRow(work.trx, id, {
              display_name: next.display_name,
              external_id: next.external_id,
              credential_id: next.credential_id,
              status: next.status,
              status_detail: next.status_detail,
            });
            work.audit({ category: 'cloud-accounts', resource: next.display_name, resourceId: id, action: 'edit', detail: changed });
            work.announce({ kind: 'cloud-account', id });
          }
          return rowToCloudAccount(next);
        },
        { reducesAccess: true },
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('conflict', 'Another cloud account of this vendor has that id.');
      throw error;
    }
  }

  /**
   * Deletes an account with its assets and CVEs, and removes it from every key's and user's
   * grants, all in one transaction: the next request of any key or user sees it gone.
   */
  async remove(actor: Actor, scope: AccountScope, id: string): Promise<void> {
    await this.transactions.run(
      actor,
      async (work) => {
        const row = await findCloudAccountRow(work.trx, id, scope);
        if (row === undefined) throw notFound('The cloud account');
        const assets = await removeAssetsOfAccount(work.trx, id);
        // The grants' owner drops the account from every grant (their rows reference it).
        const changed = await removeAccountFromGrants(work.trx, id);
        await deleteCloudAccountRow(work.trx, id);
        for (const keyId of changed.keys) work.announce({ kind: 'access-key', id: keyId });
        for (const userId of changed.users) work.announce({ kind: 'user', id: userId });
        const touched = { keys: changed.keys.length, users: changed.users.length };
        work.audit({
          category: 'cloud-accounts',
          resource: row.display_name,
          resourceId: id,
          action: 'delete',
          detail: { vendor: row.vendor, externalId: row.external_id, assetsRemoved: assets, grantsUpdated: touched },
        });
        work.announce({ kind: 'cloud-account', id });
      },
      { reducesAccess: true },
    );
  }

  /** Whether an account exists (any scope): for the seeder. */
  async exists(id: string): Promise<boolean> {
    return (await findCloudAccountRow(this.db, id, ALL_ACCOUNTS)) !== undefined;
  }

  async #checkCredential(db: Db, vendor: Vendor, credentialId: string): Promise<void> {
    const credential = await findCredential(db, credentialId);
    if (credential === undefined) throw validationFailed('/credentialId', 'names no credential');
    if (credential.vendor !== vendor) throw validationFailed('/credentialId', `is a ${credential.vendor} credential; this is a ${vendor} account`);
  }
}
