import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, PostgresAdapter, sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexAccessKeyNames } from '../src/access-keys/access-key.repository.ts';
import type { Grant } from '../src/auth/permissions.ts';
import { loadConfig } from '../src/config.ts';
import { createContext, type Context } from '../src/context.ts';
import { openStorage } from '../src/db/database.ts';
import { migrationProvider } from '../src/db/migrations/index.ts';
import { createLogger } from '../src/http/logging.ts';
import { createPgSchema, DIALECTS } from './helpers/databases.ts';
import { TEST_PUBLIC_URL, TEST_SECRET } from './helpers/harness.ts';

const PREVIOUS = '2026-12-07T05-acknowledged-changes';

/** Tables as an earlier migration left them, which the current schema types do not describe. */
type Untyped = Kysely<Record<string, Record<string, unknown>>>;

/** Keys as the code before 2026-12-07T10 stored them: grants merged, as JSON text. */
const KEYS: Array<{ id: string; name: string; roles: Grant[] }> = [
  { id: 'k1', name: 'admin-bot', roles: [{ role: 'global-admin' }] },
  { id: 'k2', name: 'viewer-bot', roles: [{ role: 'global-viewer' }] },
  { id: 'k3', name: 'two-accounts', roles: [{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: ['acc-1', 'acc-2'] }] },
  { id: 'k4', name: 'all-accounts', roles: [{ role: 'global-admin' }, { role: 'cloud-account-viewer', accounts: 'all' }] },
  // A list grant whose only account was removed: it stays, seeing nothing.
  { id: 'k5', name: 'emptied', roles: [{ role: 'cloud-account-viewer', accounts: [] }] },
  { id: 'k6', name: 'one-account', roles: [{ role: 'cloud-account-viewer', accounts: ['acc-2'] }] },
];
const USERS: Array<{ id: string; email: string; roles: Grant[] }> = [
  { id: 'u1', email: 'admin@example.com', roles: [{ role: 'global-admin' }] },
  { id: 'u2', email: 'scoped@example.com', roles: [{ role: 'cloud-account-viewer', accounts: ['acc-1'] }] },
];
const CREATED = '2026-12-01T00:00:00.000Z';
const EXPIRES = '2099-01-01T00:00:00.000Z';

async function migrateTo(db: Untyped, name: string): Promise<void> {
  const migrationTableSchema =
    db.getExecutor().adapter instanceof PostgresAdapter ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const { error } = await new Migrator({ db, provider: migrationProvider, migrationTableSchema }).migrateTo(name);
  if (error !== undefined) throw error;
}

describe.each(DIALECTS)('migration 2026-12-07T10: grants as rows (%s)', (dialect) => {
  let dataDir: string;
  let pgSchema: Awaited<ReturnType<typeof createPgSchema>> | undefined;
  let ctx: Context;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-grants-'));
    pgSchema = dialect === 'postgres' ? await createPgSchema() : undefined;
    // A database at the previous migration, holding keys and users as that code wrote them.
    const storage = openStorage({ databaseUrl: pgSchema?.url, dataDir });
    try {
      await migrateTo(storage.db as unknown as Untyped, PREVIOUS);
      const db = storage.db as unknown as Untyped;
      for (const id of ['acc-1', 'acc-2']) {
        await db
          .insertInto('cloud_accounts')
          .values({
            id,
            vendor: 'aws',
            display_name: id,
            external_id: id === 'acc-1' ? '111111111111' : '222222222222',
            status: 'connected',
            status_detail: null,
            credential_id: null,
            created_at: CREATED,
          })
          .execute();
      }
      for (const key of KEYS) {
        await db
          .insertInto('access_keys')
          .values({
            id: key.id,
            name: key.name,
            name_key: key.name,
            roles: JSON.stringify(key.roles),
            created_at: CREATED,
            expires_at: EXPIRES,
            token_hash: 'unknown',
            use_count: 0,
          })
          .execute();
      }
      await indexAccessKeyNames(
        storage.db,
        KEYS.map((k) => ({ id: k.id, name_key: k.name })),
      );
      for (const user of USERS) {
        await db
          .insertInto('users')
          .values({
            id: user.id,
            email: user.email,
            email_key: user.email,
            display_name: user.email,
            roles: JSON.stringify(user.roles),
            status: 'active',
            is_primary: 0,
            created_at: CREATED,
          })
          .execute();
      }
    } finally {
      await storage.close();
    }
    const config = loadConfig({
      TESSERA_DATA_DIR: dataDir,
      TESSERA_SECRET: TEST_SECRET,
      TESSERA_PUBLIC_URL: TEST_PUBLIC_URL,
      LOG_LEVEL: 'silent',
      ...(pgSchema === undefined ? {} : { DATABASE_URL: pgSchema.url }),
    });
    // Opening the context migrates to the latest migration.
    ctx = await createContext(config, createLogger(config));
  });

  afterAll(async () => {
    await ctx?.close();
    await pgSchema?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists every key with the grants it had, sorted and filtered by role', async () => {
    const listed = await ctx.accessKeys.list({ sort: 'role', order: 'asc', limit: 200 });
    expect(Object.fromEntries(listed.items.map((k) => [k.id, k.roles]))).toEqual(Object.fromEntries(KEYS.map((k) => [k.id, k.roles])));
    // By the roles' titles, role by role: Cloud Account Viewer, Global Admin (+ CAV), Global Viewer (+ CAV).
    expect(listed.items.map((k) => k.id)).toEqual(['k5', 'k6', 'k1', 'k4', 'k2', 'k3']);
    const viewers = await ctx.accessKeys.list({ role: 'cloud-account-viewer', limit: 200, sort: 'name', order: 'asc' });
    expect(viewers.items.map((k) => k.name)).toEqual(['all-accounts', 'emptied', 'one-account', 'two-accounts']);
    const byName = await ctx.accessKeys.list({ name: 'account', limit: 200, sort: 'name', order: 'asc' });
    expect(byName.items.map((k) => k.id)).toEqual(['k4', 'k6', 'k3']);
  });

  it('authenticates a key as the principal its grants make', async () => {
    const { token } = await ctx.tokens.issue('accessKey', 'k6', new Date(CREATED), new Date(EXPIRES));
    await ctx.storage.db
      .updateTable('access_keys')
      .set({ token_hash: createHash('sha256').update(token).digest('hex') })
      .where('id', '=', 'k6')
      .execute();
    ctx.changes.publish({ kind: 'access-key', id: 'k6' });
    const check = await ctx.accessKeyAuth.check(token);
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.principal.grants).toEqual(KEYS[5]!.roles);
    expect(check.principal.scope).toEqual({ all: false, ids: ['acc-2'] });
    expect(check.principal.permissions.has('reports:read')).toBe(true);
    expect(check.principal.permissions.has('access-keys:manage')).toBe(false);
  });

  it('keeps users and their grants', async () => {
    for (const user of USERS) expect((await ctx.users.get(user.id)).roles).toEqual(user.roles);
  });

  it('removing an account drops it from the moved grants', async () => {
    await ctx.cloudAccounts.remove({ name: 'test', ip: null }, { all: true }, 'acc-1');
    expect((await ctx.accessKeys.get('k3')).roles).toEqual([{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: ['acc-2'] }]);
    expect((await ctx.users.get('u2')).roles).toEqual([{ role: 'cloud-account-viewer', accounts: [] }]);
  });

  it('down writes the grants back as the text the previous code read', async () => {
    const { down, up } = await import('../src/db/migrations/2026-12-07T10-grants-as-rows.ts');
    // Later migrations' indexes hold role_set, which this down drops: undone first, redone after.
    const disabledIndex = await import('../src/db/migrations/2026-12-07T55-key-disabled-index.ts');
    const expiryDayIndex = await import('../src/db/migrations/2026-12-07T85-key-expiry-day-index.ts');
    const db = ctx.storage.db as unknown as Untyped;
    await expiryDayIndex.down(db);
    await disabledIndex.down(db);
    await down(db);
    const keys = (await db.selectFrom('access_keys').select(['id', 'roles']).orderBy('id').execute()) as Array<{ id: string; roles: string }>;
    expect(keys.find((k) => k.id === 'k4')?.roles).toBe(JSON.stringify(KEYS[3]!.roles));
    expect(keys.find((k) => k.id === 'k5')?.roles).toBe(JSON.stringify(KEYS[4]!.roles));
    expect(keys.find((k) => k.id === 'k3')?.roles).toBe(JSON.stringify([{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: ['acc-2'] }]));
    await up(db);
    await disabledIndex.up(db);
    await expiryDayIndex.up(db);
    expect((await ctx.accessKeys.get('k4')).roles).toEqual(KEYS[3]!.roles);
    expect((await ctx.accessKeys.list({ sort: 'role', order: 'asc', limit: 200 })).items.map((k) => k.id)).toEqual(['k5', 'k6', 'k1', 'k4', 'k2', 'k3']);
  });
});
