import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { indexAccessKeyNames } from '../../src/access-keys/access-key.repository.ts';
import type { NewAccessKey } from '../../src/access-keys/access-key.service.ts';
import { grantsToRows, roleSetOf } from '../../src/auth/grants.ts';
import type { Grant } from '../../src/auth/permissions.ts';
import { CLI_ACTOR } from '../../src/auth/principal.ts';
import type { Context } from '../../src/context.ts';
import { timeOrderedId } from '../../src/util/ids.ts';
import { Progress } from './progress.ts';

/** How much of everything the generator makes (totals: it tops up what is there). */
export interface GenerateTarget {
  keys: number;
  accounts: number;
  assets: number;
  /** Keys (Global Viewer, active) whose real tokens are signed and returned, for the cold-path benchmark. */
  tokenPool: number;
}

export interface BenchKeys {
  admin: string;
  viewer: string;
  /** Cloud Account Viewer of the first account only. */
  accountViewer: string;
  /** The account the Cloud Account Viewer may read. */
  accountId: string;
  pool: string[];
}

export interface GenerateReport {
  keysAdded: number;
  keysPerSecond: number;
  accountsAdded: number;
  assetsAdded: number;
  seconds: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The bulk keys were created over this span, up to now. */
const CREATED_SPAN_MS = 700 * DAY_MS;
const BATCH = 5000;
const WORDS = ['billing', 'deploy', 'ci', 'scanner', 'export', 'siem', 'backup', 'audit', 'report', 'sync', 'ingest', 'alerts', 'terraform', 'jira', 'splunk', 'grafana'];
const TEAMS = ['platform', 'secops', 'data', 'payments', 'mobile', 'web', 'infra', 'risk'];
const VENDORS = ['aws', 'azure', 'gcp'] as const;
const ASSET_TYPES = ['virtual-machine', 'container-cluster', 'database', 'storage-bucket', 'load-balancer', 'serverless-function', 'virtual-network', 'security-group'];
const REGIONS = ['us-east-1', 'eu-west-1', 'westeurope', 'eastus', 'europe-west1', 'us-central1'];
/** Expiration periods in days, weighted towards the default six months; some have run out. */
const PERIODS = [7, 30, 90, 182, 182, 182, 365, 730];

/** A small deterministic PRNG (mulberry32), so that two runs make the same data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Row = Record<string, string | number | null>;

const KEY_COLUMNS = [
  'id',
  'name',
  'name_key',
  'role_set',
  'created_at',
  'expires_at',
  'token_hash',
  'last_used_at',
  'last_used_ip',
  'use_count',
  'disabled_at',
  'disabled_reason',
] as const;
const GRANT_COLUMNS = ['key_id', 'role', 'all_accounts', 'account_id'] as const;
const ACCOUNT_COLUMNS = ['id', 'vendor', 'display_name', 'external_id', 'status', 'status_detail', 'credential_id', 'created_at'] as const;
const ASSET_COLUMNS = [
  'id',
  'account_id',
  'vendor',
  'resource_id',
  'type',
  'name',
  'region',
  'exposure',
  'tags',
  'properties',
  'security_controls',
  'network',
  'created_at',
  'updated_at',
] as const;

/**
 * Inserts rows in batches: on SQLite one prepared statement in a transaction per batch; on
 * PostgreSQL one `insert … select from unnest(arrays)` per batch (one round trip).
 */
async function insertBatch(ctx: Context, table: string, columns: readonly string[], rows: Row[], integerColumns: ReadonlySet<string> = new Set()): Promise<void> {
  if (rows.length === 0) return;
  const sqlite = ctx.storage.sqlite;
  if (sqlite !== undefined) {
    const statement = sqlite.prepare(`insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
    sqlite.transaction((batch: Row[]) => {
      for (const row of batch) statement.run(columns.map((c) => row[c] ?? null));
    })(rows);
    return;
  }
  const pool = ctx.storage.pool;
  if (pool === undefined) throw new TypeError('no database handle');
  const arrays = columns.map((c) => rows.map((r) => r[c] ?? null));
  const casts = columns.map((c, i) => `$${i + 1}::${integerColumns.has(c) ? 'int' : 'text'}[]`);
  await pool.query(`insert into ${table} (${columns.join(', ')}) select * from unnest(${casts.join(', ')})`, arrays);
}

/** Keys as the API stores them: the rows with their role set, their grants, and (SQLite) their names in the trigram table. */
async function insertKeys(ctx: Context, keys: Array<{ row: Row; roles: Grant[] }>): Promise<void> {
  const rows = keys.map(({ row, roles }): Row => ({ disabled_at: null, disabled_reason: null, ...row, role_set: roleSetOf(roles) }));
  await insertBatch(ctx, 'access_keys', KEY_COLUMNS, rows, new Set(['use_count', 'role_set']));
  const grants = keys.flatMap(({ row, roles }) => grantsToRows(String(row['id']), roles).map(({ holder_id, ...grant }): Row => ({ key_id: holder_id, ...grant })));
  await insertBatch(ctx, 'access_key_grants', GRANT_COLUMNS, grants, new Set(['all_accounts']));
  await indexAccessKeyNames(
    ctx.storage.db,
    rows.map((row) => ({ id: String(row['id']), name_key: String(row['name_key']) })),
  );
}

async function count(ctx: Context, table: 'access_keys' | 'cloud_accounts' | 'assets'): Promise<number> {
  const row = await ctx.storage.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function accountRow(n: number, now: Date): Row {
  const vendor = VENDORS[n % 3]!;
  const externalId = vendor === 'aws' ? String(100000000000 + n).padStart(12, '0') : vendor === 'azure' ? randomUUID() : `bench-project-${String(n).padStart(6, '0')}`;
  return {
    id: randomUUID(),
    vendor,
    display_name: `${TEAMS[n % TEAMS.length]} ${vendor} ${String(n).padStart(3, '0')}`,
    external_id: externalId,
    status: 'connected',
    status_detail: null,
    credential_id: null,
    created_at: new Date(now.getTime() - (1000 - n) * 60_000).toISOString(),
  };
}

function assetRow(n: number, account: { id: string; vendor: string }, now: string): Row {
  const type = ASSET_TYPES[n % ASSET_TYPES.length]!;
  const exposed = n % 7 === 0;
  return {
    id: randomUUID(),
    account_id: account.id,
    vendor: account.vendor,
    resource_id: `res-${String(n).padStart(7, '0')}`,
    type,
    name: `${type}-${TEAMS[n % TEAMS.length]}-${n}`,
    region: REGIONS[n % REGIONS.length]!,
    exposure: exposed ? 'internet-exposed' : 'no-internet',
    tags: JSON.stringify({ team: TEAMS[n % TEAMS.length], env: n % 3 === 0 ? 'prod' : 'dev' }),
    properties: JSON.stringify({ size: 'medium' }),
    security_controls: JSON.stringify([{ name: 'encryption-at-rest', status: n % 5 === 0 ? 'disabled' : 'enabled', detail: null }]),
    network: JSON.stringify({
      networkId: `net-${n % 50}`,
      subnetId: `subnet-${n % 200}`,
      privateIps: [`10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`],
      publicIps: exposed ? [`203.0.113.${n % 250}`] : [],
      securityGroups: [],
    }),
    created_at: now,
    updated_at: now,
  };
}

/**
 * Tops the database up to `target`: cloud accounts, assets, API keys (with a progress bar),
 * a pool of keys with real signed tokens, and the three keys the benchmark calls with.
 * Keys other than the pool get a random token hash: no token exists for them, as a real
 * token is only ever shown once.
 */
export async function generate(ctx: Context, target: GenerateTarget, seed = 6): Promise<{ keys: BenchKeys; report: GenerateReport }> {
  const started = performance.now();
  const random = prng(seed);
  const now = ctx.clock();
  const nowIso = now.toISOString();
  // Bulk loading only: a page cache that holds the indexes being filled (the server keeps its own settings).
  ctx.storage.sqlite?.pragma('cache_size = -262144');

  const accountsBefore = await count(ctx, 'cloud_accounts');
  const accountRows: Row[] = [];
  for (let n = accountsBefore; n < target.accounts; n++) accountRows.push(accountRow(n, now));
  await insertBatch(ctx, 'cloud_accounts', ACCOUNT_COLUMNS, accountRows);
  const accounts = await ctx.storage.db.selectFrom('cloud_accounts').select(['id', 'vendor']).orderBy('created_at').orderBy('id').execute();
  if (accounts.length === 0) throw new TypeError('the benchmark needs at least one cloud account');
  ctx.changes.publish({ kind: 'cloud-account', id: '*' });

  const assetsBefore = await count(ctx, 'assets');
  const assetBar = new Progress('assets', Math.max(0, target.assets - assetsBefore));
  for (let n = assetsBefore; n < target.assets; n += BATCH) {
    const rows: Row[] = [];
    for (let i = n; i < Math.min(n + BATCH, target.assets); i++) rows.push(assetRow(i, accounts[i % accounts.length]!, nowIso));
    await insertBatch(ctx, 'assets', ASSET_COLUMNS, rows);
    assetBar.update(Math.min(n + BATCH, target.assets) - assetsBefore);
  }
  if (target.assets > assetsBefore) assetBar.done();

  // The three keys the benchmark calls with, made the ordinary way (service, audit, token).
  const make = async (name: string, roles: Grant[], guards: Pick<NewAccessKey, 'allowedCidrs' | 'rateLimit'> = {}) =>
    (await ctx.accessKeys.create(CLI_ACTOR, { name, roles, expiration: '1y', ...guards })).token;
  const admin = await make(`bench-admin-${randomUUID().slice(0, 8)}`, [{ role: 'global-admin' }]);
  // The warm-path key carries an allowlist and a rate limit (one that the load never reaches),
  // so that the warm path is measured with both checks running on every request.
  const viewer = await make(`bench-viewer-${randomUUID().slice(0, 8)}`, [{ role: 'global-viewer' }], {
    allowedCidrs: ['127.0.0.1', '::1'],
    rateLimit: { requests: 1_000_000, perSeconds: 1 },
  });
  const accountId = accounts[0]!.id;
  const accountViewer = await make(`bench-account-viewer-${randomUUID().slice(0, 8)}`, [{ role: 'cloud-account-viewer', accounts: [accountId] }]);

  // The pool: real tokens, signed like the service signs them, inserted in bulk.
  const pool: string[] = [];
  const poolBar = new Progress('token pool', target.tokenPool);
  const poolCreated = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const poolExpires = new Date(poolCreated.getTime() + 365 * DAY_MS);
  const poolTag = randomUUID().slice(0, 8);
  for (let n = 0; n < target.tokenPool; n += BATCH) {
    const rows: Array<{ row: Row; roles: Grant[] }> = [];
    for (let i = n; i < Math.min(n + BATCH, target.tokenPool); i++) {
      const id = timeOrderedId(poolCreated.getTime());
      const { token } = await ctx.tokens.issue('accessKey', id, poolCreated, poolExpires);
      pool.push(token);
      const name = `pool-${poolTag}-${String(i).padStart(6, '0')}`;
      const row: Row = {
        id,
        name,
        name_key: name,
        created_at: poolCreated.toISOString(),
        expires_at: poolExpires.toISOString(),
        token_hash: createHash('sha256').update(token, 'utf8').digest('hex'),
        last_used_at: null,
        last_used_ip: null,
        use_count: 0,
      };
      rows.push({ row, roles: [{ role: 'global-viewer' }] });
    }
    await insertKeys(ctx, rows);
    poolBar.update(pool.length);
  }
  if (target.tokenPool > 0) poolBar.done();

  // The bulk of the keys: the rest up to the target.
  const keysBefore = await count(ctx, 'access_keys');
  const toAdd = Math.max(0, target.keys - keysBefore);
  const keyBar = new Progress('access keys', toAdd);
  const keyStarted = performance.now();
  const runTag = randomUUID().slice(0, 6);
  for (let n = 0; n < toAdd; n += BATCH) {
    const size = Math.min(BATCH, toAdd - n);
    const hashes = randomBytes(32 * size).toString('hex');
    const rows: Array<{ row: Row; roles: Grant[] }> = [];
    for (let i = 0; i < size; i++) {
      const serial = keysBefore + n + i;
      const pick = Math.floor(random() * 10);
      let roles: Grant[];
      if (pick === 0) roles = [{ role: 'global-admin' }];
      else if (pick <= 4) roles = [{ role: 'global-viewer' }];
      else if (pick <= 6) roles = [{ role: 'cloud-account-viewer', accounts: 'all' }];
      else {
        const picked = new Set<string>();
        for (let k = 0; k < 1 + (serial % 3); k++) picked.add(accounts[Math.floor(random() * accounts.length)]!.id);
        roles = [{ role: 'cloud-account-viewer', accounts: [...picked].sort() }];
      }
      // As a real database holds keys: made one after another over the span (rows in creation
      // order), each id a UUIDv7 of its creation time, as the service makes them.
      const createdMs = Math.floor((now.getTime() - CREATED_SPAN_MS + (CREATED_SPAN_MS * (n + i)) / toAdd) / 1000) * 1000;
      const expiresMs = createdMs + PERIODS[Math.floor(random() * PERIODS.length)]! * DAY_MS;
      const used = random() < 0.6;
      const usedMs = used ? createdMs + Math.floor(random() * (Math.min(expiresMs, now.getTime()) - createdMs)) : 0;
      const name = `${WORDS[serial % WORDS.length]}-${TEAMS[Math.floor(random() * TEAMS.length)]}-${runTag}-${serial}`;
      const row: Row = {
        id: timeOrderedId(createdMs),
        name,
        name_key: name.toLowerCase(),
        created_at: new Date(createdMs).toISOString(),
        expires_at: new Date(expiresMs).toISOString(),
        token_hash: hashes.slice(i * 64, i * 64 + 64),
        last_used_at: used ? new Date(usedMs).toISOString() : null,
        last_used_ip: used ? `10.0.${serial % 256}.${(serial >> 8) % 256}` : null,
        use_count: used ? 1 + (serial % 5000) : 0,
      };
      // One key in a thousand switched off by hand, as the status=disabled case reads.
      if (serial % 1000 === 7) Object.assign(row, { disabled_at: new Date(createdMs + DAY_MS).toISOString(), disabled_reason: 'manual' });
      rows.push({ row, roles });
    }
    await insertKeys(ctx, rows);
    keyBar.update(n + size);
  }
  if (toAdd > 0) keyBar.done();
  const keySeconds = (performance.now() - keyStarted) / 1000;
  // PostgreSQL's autovacuum would vacuum and analyze a table that grew this much (setting its
  // visibility map, which index-only scans rely on); do it now rather than measure plans made
  // on stale statistics (autovacuum may be off on a test server). SQLite gets nothing Tessera
  // does not do itself.
  if (ctx.storage.dialect === 'postgres') {
    await sql`vacuum (analyze) access_keys`.execute(ctx.storage.db);
    await sql`vacuum (analyze) access_key_grants`.execute(ctx.storage.db);
    await sql`analyze`.execute(ctx.storage.db);
  }
  ctx.changes.publish({ kind: 'access-key', id: '*' });

  return {
    keys: { admin, viewer, accountViewer, accountId, pool },
    report: {
      keysAdded: toAdd,
      keysPerSecond: toAdd / Math.max(keySeconds, 1e-3),
      accountsAdded: accountRows.length,
      assetsAdded: Math.max(0, target.assets - assetsBefore),
      seconds: (performance.now() - started) / 1000,
    },
  };
}
