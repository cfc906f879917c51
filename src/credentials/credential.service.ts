import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor } from '../auth/principal.ts';
import type { SecretBox } from '../auth/secret-box.ts';
import { normalizeDisplayName, type Vendor } from '../cloud-accounts/cloud-account.ts';
import { accountsOfCredential } from '../cloud-accounts/cloud-account.public.ts';
import type { CredentialRow, Database } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { AppError, notFound } from '../http/errors.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import { validateSecret, type Credential } from './credential.ts';
import { deleteCredentialRow, findCredentialRow, insertCredential, listCredentialRows, rowToCredential, updateCredentialRow } from './credential.repository.ts';

/** The SecretBox purpose of credential secrets: a sealed value of another purpose never opens as one. */
export const CREDENTIAL_PURPOSE = 'credential';

export interface NewCredential {
  vendor: Vendor;
  displayName: string;
  secret: Record<string, string>;
}

export interface CredentialEdit {
  displayName?: string | undefined;
  /** Fields to replace; the others keep their current values. */
  secret?: Record<string, string> | undefined;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

/** Cloud credentials: secrets validated per vendor, sealed at rest, write-only through the API. */
export class CredentialService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
    private readonly box: SecretBox,
  ) {}

  async list(
    options: { limit?: number | undefined; cursor?: string | undefined; vendor?: Vendor | undefined } = {},
  ): Promise<{ items: Credential[]; nextCursor: string | null }> {
    const limit = Math.min(options.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let after: { name: string; id: string } | undefined;
    if (options.cursor !== undefined) {
      const [name, id] = decodeCursor(options.cursor, 2) as [string, string];
      after = { name, id };
    }
    const rows = await listCredentialRows(this.db, { limit: limit + 1, after, vendor: options.vendor });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map(rowToCredential), nextCursor: rows.length > limit && last !== undefined ? encodeCursor([last.display_name, last.id]) : null };
  }

  async get(id: string): Promise<Credential> {
    const row = await findCredentialRow(this.db, id);
    if (row === undefined) throw notFound('The credential');
    return rowToCredential(row);
  }

  /** Adds a credential. `id` is for the demo seeder only (stable ids); the API always generates one. */
  async create(actor: Actor, input: NewCredential, id: string = randomUUID()): Promise<Credential> {
    const displayName = normalizeDisplayName(input.displayName);
    const secret = validateSecret(input.vendor, input.secret);
    return this.transactions.run(actor, async (work) => {
      const now = work.now.toISOString();
      const row: CredentialRow = {
        id,
        vendor: input.vendor,
        display_name: displayName,
        secret_sealed: this.box.seal(CREDENTIAL_PURPOSE, JSON.stringify(secret)),
        secret_fields: JSON.stringify(Object.keys(secret)),
        created_at: now,
        updated_at: now,
      };
      await insertCredential(work.trx, row);
      // The names of the fields only: a secret value never reaches the audit log.
      work.audit({
        category: 'credentials',
        resource: displayName,
        resourceId: id,
        action: 'add',
        detail: { vendor: input.vendor, displayName, secretFields: Object.keys(secret) },
      });
      return rowToCredential(row);
    });
  }

  async edit(actor: Actor, id: string, edit: CredentialEdit): Promise<Credential> {
    return this.transactions.run(actor, async (work) => {
      const row = await findCredentialRow(work.trx, id);
      if (row === undefined) throw notFound('The credential');
      const vendor = row.vendor as Vendor;
      const next: CredentialRow = { ...row, updated_at: work.now.toISOString() };
      const detail: Record<string, unknown> = {};
      if (edit.displayName !== undefined) {
        next.display_name = normalizeDisplayName(edit.displayName);
        if (next.display_name !== row.display_name) detail['displayName'] = { before: row.display_name, after: next.display_name };
      }
      if (edit.secret !== undefined && Object.keys(edit.secret).length > 0) {
        const current = JSON.parse(this.box.open(CREDENTIAL_PURPOSE, row.secret_sealed)) as Record<string, string>;
        const secret = validateSecret(vendor, { ...current, ...edit.secret });
        next.secret_sealed = this.box.seal(CREDENTIAL_PURPOSE, JSON.stringify(secret));
        next.secret_fields = JSON.stringify(Object.keys(secret));
        detail['secretFieldsReplaced'] = Object.keys(edit.secret);
      }
      await updateCredentialRow(work.trx, id, {
        display_name: next.display_name,
        secret_sealed: next.secret_sealed,
        secret_fields: next.secret_fields,
        updated_at: next.updated_at,
      });
      work.audit({ category: 'credentials', resource: next.display_name, resourceId: id, action: 'edit', detail });
      return rowToCredential(next);
    });
  }

  /** Deletes a credential no cloud account uses (409 naming the accounts otherwise). */
  async remove(actor: Actor, id: string): Promise<void> {
    await this.transactions.run(actor, async (work) => {
      const row = await findCredentialRow(work.trx, id);
      if (row === undefined) throw notFound('The credential');
      const accounts = await accountsOfCredential(work.trx, id);
      if (accounts.length > 0) {
        throw new AppError(
          'conflict',
          `The credential is used by ${accounts.length} cloud account(s): ${accounts.map((a) => a.displayName).join(', ')}. Detach it from them first.`,
          {
            accounts: accounts.map((a) => a.id),
          },
        );
      }
      await deleteCredentialRow(work.trx, id);
      work.audit({ category: 'credentials', resource: row.display_name, resourceId: id, action: 'delete', detail: { vendor: row.vendor } });
    });
  }

  /** The decrypted fields, for connectors inside this process only: never for an HTTP answer. */
  async openSecret(id: string): Promise<Record<string, string>> {
    const row = await findCredentialRow(this.db, id);
    if (row === undefined) throw notFound('The credential');
    return JSON.parse(this.box.open(CREDENTIAL_PURPOSE, row.secret_sealed)) as Record<string, string>;
  }
}
