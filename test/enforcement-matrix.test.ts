/**
 * The enforcement matrix: every route of the app × every kind of caller. The table below is
 * keyed by the app's own route table ("METHOD /url" as registered); a route without an entry
 * fails the coverage test, naming it, so a route added later must state who may call it.
 */
import type { InjectOptions, LightMyRequestResponse, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteAccess } from '../src/auth/permissions.ts';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { assetIdFor } from '../src/assets/asset.ts';
import { buildApp } from '../src/app.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, START, type Harness } from './helpers/harness.ts';
import { addAccount, externalIdFor, putAssets, vm } from './helpers/inventory.ts';

const DAY = 24 * 60 * 60 * 1000;

/** Callers holding a valid key. */
const KEY_CALLERS = ['global-admin', 'global-viewer', 'cav-all', 'cav-one', 'combined'] as const;
type KeyCaller = (typeof KEY_CALLERS)[number];
/** Callers without valid credentials: every non-public route answers them 401. */
const BAD_CALLERS = ['no-key', 'removed-key', 'expired-key'] as const;
type Caller = KeyCaller | (typeof BAD_CALLERS)[number];

interface Fixture {
  h: Harness;
  tokens: Record<Exclude<Caller, 'no-key'>, string>;
  keyIds: Record<KeyCaller, string>;
  /** Account A (aws, granted to cav-one) and B (gcp, not granted to it). */
  a: string;
  b: string;
  assetA: string;
  assetB: string;
  credential: string;
}

interface Case {
  /** What the route must declare in `config.access`. */
  access: RouteAccess;
  /** The request; called once per caller, so a destructive call gets a fresh target. */
  request: (f: Fixture, caller: Caller) => Promise<InjectOptions> | InjectOptions;
  /** The status for each caller holding a valid key (and, for public routes, for every caller). */
  expect: Record<KeyCaller, number>;
  /** For lists: the exact ids the caller must get. */
  ids?: (f: Fixture, caller: KeyCaller) => Promise<string[]> | string[];
}

const only = (allowed: readonly KeyCaller[], ok: number, denied = 403): Record<KeyCaller, number> =>
  Object.fromEntries(KEY_CALLERS.map((c) => [c, allowed.includes(c) ? ok : denied])) as Record<KeyCaller, number>;
const everyone = (status: number) => only(KEY_CALLERS, status);
const ADMIN = ['global-admin'] as const;
/** Global Admin, Global Viewer and the combined key (which holds Global Viewer). */
const GLOBAL_READERS = ['global-admin', 'global-viewer', 'combined'] as const;
/** Reads open to every role, limited by scope: cav-one sees account A only. */
const scopedGet = (ok = 200) => ({ ...everyone(ok), 'cav-one': 404 });

const get = (url: string): InjectOptions => ({ method: 'GET', url });
const json = (method: InjectOptions['method'], url: string, payload: object): InjectOptions => ({ method, url, payload });
let serial = 0;
const unique = (prefix: string) => `${prefix}-${++serial}`;

async function allIds(f: Fixture, table: 'cloud_accounts' | 'assets' | 'credentials' | 'access_keys' | 'users'): Promise<string[]> {
  return (await f.h.ctx.storage.db.selectFrom(table).select('id').execute()).map((r) => r.id);
}
const scopedIds = (table: 'cloud_accounts' | 'assets', oneAccount: (f: Fixture) => Promise<string[]> | string[]) => async (f: Fixture, caller: KeyCaller) =>
  caller === 'cav-one' ? oneAccount(f) : allIds(f, table);

const freshAccount = async (f: Fixture) => (await addAccount(f.h, 'aws', unique('Matrix target'))).id;
const freshKey = async (f: Fixture) => (await f.h.key([{ role: 'global-viewer' }], { name: unique('matrix-key') })).id;
const WEBHOOK = { url: 'https://203.0.113.7/hooks', events: ['access_key.created'] };
const freshWebhook = async (f: Fixture) => (await f.h.ctx.webhooks.create(CLI_ACTOR, WEBHOOK)).webhook.id;
/** One webhook for the routes that leave it in place (webhooks are capped at 50). */
const sharedWebhooks = new WeakMap<Fixture, Promise<string>>();
const sharedWebhook = (f: Fixture) => {
  let id = sharedWebhooks.get(f);
  if (id === undefined) sharedWebhooks.set(f, (id = freshWebhook(f)));
  return id;
};

const freshCredential = async (f: Fixture) =>
  (
    await f.h.ctx.credentials.create(CLI_ACTOR, {
      vendor: 'azure',
      displayName: unique('cred'),
      secret: { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', applicationId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590', applicationSecret: 's' },
    })
  ).id;

const MATRIX: Record<string, Case> = {
  // Operations and documents: public.
  'GET /healthz': { access: 'public', request: () => get('/healthz'), expect: everyone(200) },
  'GET /readyz': { access: 'public', request: () => get('/readyz'), expect: everyone(200) },
  // Off unless TESSERA_METRICS_TOKEN is set (it has its own scraper token, not an API key).
  'GET /metrics': { access: 'public', request: () => get('/metrics'), expect: everyone(404) },
  'GET /openapi.json': { access: 'public', request: () => get('/openapi.json'), expect: everyone(200) },
  'GET /.well-known/jwks.json': { access: 'public', request: () => get('/.well-known/jwks.json'), expect: everyone(200) },
  'GET /docs': { access: 'public', request: () => get('/docs'), expect: everyone(200) },
  // Swagger UI sends its own index page to /docs.
  'GET /docs/static/index.html': { access: 'public', request: () => get('/docs/static/index.html'), expect: everyone(302) },
  'GET /docs/static/swagger-initializer.js': { access: 'public', request: () => get('/docs/static/swagger-initializer.js'), expect: everyone(200) },
  // The API homepage's own script, styles and icon (src/http/api-homepage/).
  'GET /docs/static/theme/tessera.js': { access: 'public', request: () => get('/docs/static/theme/tessera.js'), expect: everyone(200) },
  'GET /docs/static/theme/tessera.css': { access: 'public', request: () => get('/docs/static/theme/tessera.css'), expect: everyone(200) },
  'GET /docs/static/theme/favicon.svg': { access: 'public', request: () => get('/docs/static/theme/favicon.svg'), expect: everyone(200) },
  'GET /docs/json': { access: 'public', request: () => get('/docs/json'), expect: everyone(200) },
  'GET /docs/yaml': { access: 'public', request: () => get('/docs/yaml'), expect: everyone(200) },
  'GET /docs/static/*': { access: 'public', request: () => get('/docs/static/swagger-ui.css'), expect: everyone(200) },

  // API access keys and introspection: Global Admin only.
  'GET /api/v1/access-keys': {
    access: 'access-keys:manage',
    request: () => get('/api/v1/access-keys?limit=200'),
    expect: only(ADMIN, 200),
    ids: (f) => allIds(f, 'access_keys'),
  },
  'POST /api/v1/access-keys': {
    access: 'access-keys:manage',
    request: () => json('POST', '/api/v1/access-keys', { name: unique('matrix-new'), roles: [{ role: 'global-viewer' }] }),
    expect: only(ADMIN, 201),
  },
  'GET /api/v1/access-keys/:id': { access: 'access-keys:manage', request: (f) => get(`/api/v1/access-keys/${f.keyIds['global-viewer']}`), expect: only(ADMIN, 200) },
  'PATCH /api/v1/access-keys/:id': {
    access: 'access-keys:manage',
    request: async (f) => json('PATCH', `/api/v1/access-keys/${await freshKey(f)}`, { roles: [{ role: 'global-viewer' }] }),
    expect: only(ADMIN, 200),
  },
  'DELETE /api/v1/access-keys/:id': {
    access: 'access-keys:manage',
    request: async (f) => ({ method: 'DELETE', url: `/api/v1/access-keys/${await freshKey(f)}` }),
    expect: only(ADMIN, 204),
  },
  'POST /api/v1/access-keys/:id/roll': {
    access: 'access-keys:manage',
    request: async (f) => json('POST', `/api/v1/access-keys/${await freshKey(f)}/roll`, { graceMinutes: 0 }),
    expect: only(ADMIN, 200),
  },
  'GET /api/v1/access-keys/:id/activity': {
    access: 'access-keys:manage',
    request: (f) => get(`/api/v1/access-keys/${f.keyIds['global-viewer']}/activity`),
    expect: only(ADMIN, 200),
  },
  'GET /api/v1/access-keys/:id/advice': {
    access: 'access-keys:manage',
    request: (f) => get(`/api/v1/access-keys/${f.keyIds['global-viewer']}/advice`),
    expect: only(ADMIN, 200),
  },
  'POST /api/v1/access-keys/:id/dry-run': {
    access: 'access-keys:manage',
    request: (f) => json('POST', `/api/v1/access-keys/${f.keyIds['global-viewer']}/dry-run`, { roles: [{ role: 'global-viewer' }] }),
    expect: only(ADMIN, 200),
  },
  'GET /api/v1/settings/access-key-policy': { access: 'access-keys:manage', request: () => get('/api/v1/settings/access-key-policy'), expect: only(ADMIN, 200) },
  'PUT /api/v1/settings/access-key-policy': {
    access: 'access-keys:manage',
    request: () =>
      json('PUT', '/api/v1/settings/access-key-policy', {
        maxDays: { 'global-admin': null, 'global-viewer': null, 'cloud-account-viewer': null },
        disableAfterUnusedDays: null,
        requireDescription: false,
      }),
    expect: only(ADMIN, 200),
  },
  'GET /api/v1/access-keys/expiring-soon': { access: 'access-keys:manage', request: () => get('/api/v1/access-keys/expiring-soon'), expect: only(ADMIN, 200) },
  'GET /api/v1/webhooks': { access: 'webhooks:manage', request: () => get('/api/v1/webhooks'), expect: only(ADMIN, 200) },
  'POST /api/v1/webhooks': { access: 'webhooks:manage', request: () => json('POST', '/api/v1/webhooks', WEBHOOK), expect: only(ADMIN, 201) },
  'GET /api/v1/webhooks/:id': { access: 'webhooks:manage', request: async (f) => get(`/api/v1/webhooks/${await sharedWebhook(f)}`), expect: only(ADMIN, 200) },
  'PATCH /api/v1/webhooks/:id': {
    access: 'webhooks:manage',
    request: async (f) => json('PATCH', `/api/v1/webhooks/${await sharedWebhook(f)}`, { description: unique('hook') }),
    expect: only(ADMIN, 200),
  },
  'DELETE /api/v1/webhooks/:id': {
    access: 'webhooks:manage',
    request: async (f) => ({ method: 'DELETE', url: `/api/v1/webhooks/${await freshWebhook(f)}` }),
    expect: only(ADMIN, 204),
  },
  'POST /api/v1/webhooks/:id/test': {
    access: 'webhooks:manage',
    request: async (f) => ({ method: 'POST', url: `/api/v1/webhooks/${await sharedWebhook(f)}/test` }),
    expect: only(ADMIN, 202),
  },
  'GET /api/v1/webhooks/:id/deliveries': {
    access: 'webhooks:manage',
    request: async (f) => get(`/api/v1/webhooks/${await sharedWebhook(f)}/deliveries`),
    expect: only(ADMIN, 200),
  },
  'POST /api/v1/token/introspect': {
    access: 'access-keys:manage',
    request: (f) => ({
      method: 'POST',
      url: '/api/v1/token/introspect',
      payload: `token=${f.tokens['global-viewer']}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
    expect: only(ADMIN, 200),
  },

  // People (issue 4): sign-in is public; a session route is for session cookies, so a key gets 401.
  'POST /api/v1/session': { access: 'public', request: () => json('POST', '/api/v1/session', {}), expect: everyone(400) },
  'GET /api/v1/session': { access: 'authenticated', request: () => get('/api/v1/session'), expect: everyone(401) },
  'DELETE /api/v1/session': { access: 'authenticated', request: () => ({ method: 'DELETE', url: '/api/v1/session' }), expect: everyone(401) },
  'PUT /api/v1/session/password': { access: 'authenticated', request: () => json('PUT', '/api/v1/session/password', {}), expect: everyone(400) },
  // An empty report fails validation (never revokes anything), for everyone alike.
  'POST /api/v1/access-keys/leaks': { access: 'public', request: () => json('POST', '/api/v1/access-keys/leaks', {}), expect: everyone(400) },
  'POST /api/v1/token': { access: 'public', request: () => json('POST', '/api/v1/token', {}), expect: everyone(400) },
  'POST /api/v1/invitations/inspect': { access: 'public', request: () => json('POST', '/api/v1/invitations/inspect', {}), expect: everyone(400) },
  'POST /api/v1/invitations/accept': { access: 'public', request: () => json('POST', '/api/v1/invitations/accept', {}), expect: everyone(400) },
  'GET /api/v1/users': { access: 'users:manage', request: () => get('/api/v1/users?limit=200'), expect: only(ADMIN, 200), ids: (f) => allIds(f, 'users') },
  // An empty body passes authorization (checked first) and fails validation: 400 for the admin.
  'POST /api/v1/users': { access: 'users:manage', request: () => json('POST', '/api/v1/users', {}), expect: only(ADMIN, 400) },
  'GET /api/v1/users/:id': { access: 'users:manage', request: () => get('/api/v1/users/missing'), expect: only(ADMIN, 404) },
  'PATCH /api/v1/users/:id': { access: 'users:manage', request: () => json('PATCH', '/api/v1/users/missing', { displayName: 'x' }), expect: only(ADMIN, 404) },
  'DELETE /api/v1/users/:id': { access: 'users:manage', request: () => ({ method: 'DELETE', url: '/api/v1/users/missing' }), expect: only(ADMIN, 404) },
  'POST /api/v1/users/:id/invitation': { access: 'users:manage', request: () => ({ method: 'POST', url: '/api/v1/users/missing/invitation' }), expect: only(ADMIN, 404) },
  'POST /api/v1/users/:id/password-reset': {
    access: 'users:manage',
    request: () => ({ method: 'POST', url: '/api/v1/users/missing/password-reset' }),
    expect: only(ADMIN, 404),
  },
  'GET /api/v1/audit-events': { access: 'audit:read', request: () => get('/api/v1/audit-events'), expect: only(ADMIN, 200) },

  // Cloud accounts: read by every role inside its scope; written by Global Admins.
  'GET /api/v1/cloud-accounts': {
    access: 'cloud-accounts:read',
    request: () => get('/api/v1/cloud-accounts?limit=200'),
    expect: everyone(200),
    ids: scopedIds('cloud_accounts', (f) => [f.a]),
  },
  'POST /api/v1/cloud-accounts': {
    access: 'cloud-accounts:write',
    request: () => json('POST', '/api/v1/cloud-accounts', { vendor: 'aws', displayName: unique('New'), externalId: externalIdFor('aws') }),
    expect: only(ADMIN, 201),
  },
  'GET /api/v1/cloud-accounts/:id': { access: 'cloud-accounts:read', request: (f) => get(`/api/v1/cloud-accounts/${f.b}`), expect: scopedGet() },
  'PATCH /api/v1/cloud-accounts/:id': {
    access: 'cloud-accounts:write',
    request: async (f) => json('PATCH', `/api/v1/cloud-accounts/${await freshAccount(f)}`, { displayName: unique('Renamed') }),
    expect: only(ADMIN, 200),
  },
  'DELETE /api/v1/cloud-accounts/:id': {
    access: 'cloud-accounts:write',
    request: async (f) => ({ method: 'DELETE', url: `/api/v1/cloud-accounts/${await freshAccount(f)}` }),
    expect: only(ADMIN, 204),
  },
  'PUT /api/v1/cloud-accounts/:id/assets': {
    access: 'assets:write',
    request: async (f) => json('PUT', `/api/v1/cloud-accounts/${await freshAccount(f)}/assets`, { assets: [vm('i-matrix')] }),
    expect: only(ADMIN, 200),
  },

  // Credentials: global roles read (never the secret); Global Admins write.
  'GET /api/v1/credentials': {
    access: 'credentials:read',
    request: () => get('/api/v1/credentials?limit=200'),
    expect: only(GLOBAL_READERS, 200),
    ids: (f) => allIds(f, 'credentials'),
  },
  'POST /api/v1/credentials': {
    access: 'credentials:write',
    request: () =>
      json('POST', '/api/v1/credentials', {
        vendor: 'aws',
        displayName: unique('cred'),
        secret: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      }),
    expect: only(ADMIN, 201),
  },
  'GET /api/v1/credentials/:id': { access: 'credentials:read', request: (f) => get(`/api/v1/credentials/${f.credential}`), expect: only(GLOBAL_READERS, 200) },
  'PATCH /api/v1/credentials/:id': {
    access: 'credentials:write',
    request: (f) => json('PATCH', `/api/v1/credentials/${f.credential}`, { displayName: unique('renamed') }),
    expect: only(ADMIN, 200),
  },
  'DELETE /api/v1/credentials/:id': {
    access: 'credentials:write',
    request: async (f) => ({ method: 'DELETE', url: `/api/v1/credentials/${await freshCredential(f)}` }),
    expect: only(ADMIN, 204),
  },

  // Assets and CVEs: read inside the scope; CVEs written by Global Admins.
  'GET /api/v1/assets': {
    access: 'assets:read',
    request: () => get('/api/v1/assets?limit=200'),
    expect: everyone(200),
    ids: scopedIds('assets', (f) => [f.assetA]),
  },
  'GET /api/v1/assets/:id': { access: 'assets:read', request: (f) => get(`/api/v1/assets/${f.assetB}`), expect: scopedGet() },
  'GET /api/v1/assets/:id/network': { access: 'assets:read', request: (f) => get(`/api/v1/assets/${f.assetB}/network`), expect: scopedGet() },
  'POST /api/v1/assets/:id/cves': {
    access: 'cves:write',
    request: (f) => json('POST', `/api/v1/assets/${f.assetA}/cves`, { cves: [{ id: 'CVE-2021-44228', severity: 'critical' }] }),
    expect: only(ADMIN, 200),
  },
  'DELETE /api/v1/assets/:id/cves/:cveId': {
    access: 'cves:write',
    request: async (f) => {
      const cve = `CVE-2024-${String(10000 + ++serial)}`;
      await f.h.ctx.assets.addCves(CLI_ACTOR, { all: true }, f.assetA, [{ id: cve, severity: 'low' }]);
      return { method: 'DELETE', url: `/api/v1/assets/${f.assetA}/cves/${cve}` };
    },
    expect: only(ADMIN, 204),
  },

  // Policy: global roles read; Global Admins replace.
  'GET /api/v1/policy/rules': { access: 'policy:read', request: () => get('/api/v1/policy/rules'), expect: only(GLOBAL_READERS, 200) },
  'PUT /api/v1/policy/rules': {
    access: 'policy:write',
    request: () =>
      json('PUT', '/api/v1/policy/rules', {
        rules: [{ name: 'No SSH from the internet', action: 'deny', protocol: 'tcp', source: 'internet', destination: 'any', ports: ['22'] }],
      }),
    expect: only(ADMIN, 200),
  },

  // Reports: every role, counted over its scope (reports.test.ts checks the counts).
  'GET /api/v1/reports/summary': { access: 'reports:read', request: () => get('/api/v1/reports/summary'), expect: everyone(200) },
};

/** The console's static files (present once web/dist is built; their names carry content hashes). */
const CONSOLE_FILE = /^GET \/(index\.html|favicon\.[a-z]+|assets\/[^*]+|)$/;
const CONSOLE_FALLBACK = 'GET /*';

function routeKeys(routes: RouteOptions[]): { key: string; route: RouteOptions }[] {
  const out = new Map<string, RouteOptions>();
  for (const route of routes) {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' || method === 'OPTIONS') continue; // HEAD is checked with its GET
      const url = route.url.length > 1 ? route.url.replace(/\/$/, '') : route.url;
      out.set(`${method} ${url}`, route);
    }
  }
  return [...out].map(([key, route]) => ({ key, route }));
}

describe.each(DIALECTS)('enforcement matrix (%s)', (dialect) => {
  let f: Fixture;
  const routes: RouteOptions[] = [];
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    const h = await createHarness(dialect);
    app = await buildApp(h.ctx, { logRequests: false, onRoute: (route) => void routes.push(route) });
    await app.ready();
    const a = (await addAccount(h, 'aws', 'Matrix A')).id;
    const b = (await addAccount(h, 'gcp', 'Matrix B')).id;
    await putAssets(h, a, [vm('a-1', { exposed: true })]);
    await putAssets(h, b, [vm('b-1')]);
    const credential = (
      await h.ctx.credentials.create(CLI_ACTOR, {
        vendor: 'aws',
        displayName: 'Matrix credential',
        secret: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      })
    ).id;
    const admin = await h.key([{ role: 'global-admin' }]);
    const viewer = await h.key([{ role: 'global-viewer' }]);
    const cavAll = await h.key([{ role: 'cloud-account-viewer', accounts: 'all' }]);
    const cavOne = await h.key([{ role: 'cloud-account-viewer', accounts: [a] }]);
    const combined = await h.key([{ role: 'global-viewer' }, { role: 'cloud-account-viewer', accounts: [a] }]);
    const removed = await h.key([{ role: 'global-admin' }]);
    await h.ctx.accessKeys.remove(CLI_ACTOR, removed.id);
    h.clock.set(new Date(START.getTime() - 8 * DAY));
    const expired = await h.key([{ role: 'global-admin' }], { expiration: '7d' });
    h.clock.set(START);
    f = {
      h,
      tokens: {
        'global-admin': admin.token,
        'global-viewer': viewer.token,
        'cav-all': cavAll.token,
        'cav-one': cavOne.token,
        combined: combined.token,
        'removed-key': removed.token,
        'expired-key': expired.token,
      },
      keyIds: { 'global-admin': admin.id, 'global-viewer': viewer.id, 'cav-all': cavAll.id, 'cav-one': cavOne.id, combined: combined.id },
      a,
      b,
      assetA: assetIdFor(a, 'a-1'),
      assetB: assetIdFor(b, 'b-1'),
      credential,
    };
  });
  afterAll(async () => {
    await app.close();
    await f.h.close();
  });

  const send = (caller: Caller, options: InjectOptions): Promise<LightMyRequestResponse> => {
    const headers: Record<string, string> = { ...(options.headers as Record<string, string> | undefined) };
    if (caller !== 'no-key') headers['authorization'] = `Bearer ${f.tokens[caller]}`;
    return app.inject({ ...options, headers });
  };

  it('has an expectation for every route of the app, and each route declares what the table says', () => {
    const keys = routeKeys(routes);
    expect(keys.length).toBeGreaterThan(40);
    const missing: string[] = [];
    const mismatched: string[] = [];
    for (const { key, route } of keys) {
      const declared = route.config?.access;
      const entry = MATRIX[key];
      if (entry === undefined) {
        if (CONSOLE_FILE.test(key) || key === CONSOLE_FALLBACK) {
          if (declared !== 'public') mismatched.push(`${key}: declares ${String(declared)}, the console's files are public`);
          continue;
        }
        missing.push(`${key} (declares ${String(declared)})`);
      } else if (entry.access !== declared) {
        mismatched.push(`${key}: declares ${String(declared)}, the matrix expects ${entry.access}`);
      }
    }
    expect(missing, `routes without an expectation in test/enforcement-matrix.test.ts:\n${missing.join('\n')}`).toEqual([]);
    expect(mismatched, mismatched.join('\n')).toEqual([]);
    const stale = Object.keys(MATRIX).filter((key) => !keys.some((k) => k.key === key));
    expect(stale, `matrix entries for routes that no longer exist: ${stale.join(', ')}`).toEqual([]);
  });

  for (const [key, entry] of Object.entries(MATRIX)) {
    it(key, async () => {
      for (const caller of [...KEY_CALLERS, ...BAD_CALLERS]) {
        const options = await entry.request(f, caller);
        const res = await send(caller, options);
        const expected =
          (KEY_CALLERS as readonly string[]).includes(caller) || entry.access === 'public' ? (entry.expect[caller as KeyCaller] ?? entry.expect['global-admin']) : 401;
        const where = `${key} as ${caller}`;
        expect(res.statusCode, `${where}: ${res.body.slice(0, 300)}`).toBe(expected);
        if (expected === 401) {
          expect(res.json().code, where).toBe('invalid_token');
          // RFC 6750 §3.1: a request without credentials is challenged without an error code.
          expect(res.headers['www-authenticate'], where).toBe(caller === 'no-key' ? 'Bearer' : 'Bearer error="invalid_token"');
        }
        if (expected === 403) {
          expect(res.json().code, where).toBe('insufficient_scope');
          expect(res.headers['www-authenticate'], where).toBe('Bearer error="insufficient_scope"');
        }
        if (expected === 404 && String(res.headers['content-type']).includes('json')) expect(res.json().code, where).toBe('not_found');
        if (entry.ids !== undefined && expected === 200) {
          const want = await entry.ids(f, caller as KeyCaller);
          const got = (res.json() as { items: { id: string }[]; nextCursor: string | null }).items.map((i) => i.id);
          expect([...got].sort(), where).toEqual([...want].sort());
          expect(res.json().nextCursor, where).toBeNull();
        }
        if (options.method === 'GET' && !key.startsWith('GET /docs/static')) {
          const head = await send(caller, { ...options, method: 'HEAD' });
          expect(head.statusCode, `HEAD ${where}`).toBe(expected);
        }
      }
    });
  }

  it("serves the console's files to everyone (when built)", async () => {
    const files = routeKeys(routes).filter(({ key }) => CONSOLE_FILE.test(key));
    for (const { key } of files) {
      for (const caller of [...KEY_CALLERS, ...BAD_CALLERS]) {
        expect((await send(caller, get(key.slice(4)))).statusCode, `${key} as ${caller}`).toBe(200);
      }
    }
    if (routeKeys(routes).some(({ key }) => key === CONSOLE_FALLBACK)) {
      expect((await send('no-key', get('/access-keys'))).statusCode).toBe(200);
      expect((await send('no-key', get('/api/v1/nothing-here'))).json().code).toBe('not_found');
    }
  });

  it('applies an edit, a removal and a deleted account to the very next request', async () => {
    const account = await addAccount(f.h, 'azure', 'Next request');
    const key = await f.h.key([{ role: 'cloud-account-viewer', accounts: [account.id] }]);
    const call = () => app.inject({ method: 'GET', url: `/api/v1/cloud-accounts/${account.id}`, headers: { authorization: `Bearer ${key.token}` } });
    expect((await call()).statusCode).toBe(200);
    await f.h.ctx.accessKeys.editRoles(CLI_ACTOR, key.id, [{ role: 'cloud-account-viewer', accounts: [f.a] }]);
    expect((await call()).statusCode).toBe(404);
    await f.h.ctx.accessKeys.editRoles(CLI_ACTOR, key.id, [{ role: 'cloud-account-viewer', accounts: [account.id, f.a] }]);
    expect((await call()).statusCode).toBe(200);
    await f.h.ctx.cloudAccounts.remove(CLI_ACTOR, { all: true }, account.id);
    expect((await call()).statusCode).toBe(404);
    const list = await app.inject({ method: 'GET', url: '/api/v1/cloud-accounts', headers: { authorization: `Bearer ${key.token}` } });
    expect(list.json().items.map((a: { id: string }) => a.id)).toEqual([f.a]);
    await f.h.ctx.accessKeys.remove(CLI_ACTOR, key.id);
    expect((await call()).statusCode).toBe(401);
  });
});
