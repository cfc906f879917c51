import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { PERMISSIONS } from '../src/auth/permissions.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const VALID_ACCESS = new Set<string>([...PERMISSIONS, 'authenticated', 'public']);

/** Routes whose `config.access` is missing or not a known rule, as "METHOD url". */
function undeclared(routes: readonly RouteOptions[]): string[] {
  return routes
    .filter((route) => !VALID_ACCESS.has(String(route.config?.access)))
    .map((route) => `${[route.method].flat().join(',')} ${route.url} (access: ${String(route.config?.access)})`);
}

describe('the route table', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(() => h.close());

  it('declares an access rule on every route of the app', async () => {
    const routes: RouteOptions[] = [];
    const app = await buildApp(h.ctx, { logRequests: false, onRoute: (route) => void routes.push(route) });
    await app.ready();
    try {
      // Read after ready: scoped hooks (the API homepage, the console) fill in their rule later.
      expect(routes.length).toBeGreaterThan(40);
      expect(undeclared(routes), 'routes without config.access').toEqual([]);
      const api = routes.filter((r) => r.url.startsWith('/api/v1/'));
      expect(api.length).toBeGreaterThan(30);
      // No API route but sign-in, the token grant, invitations and leak reports is open to the world.
      const publicApi = [...new Set(api.filter((r) => r.config?.access === 'public').map((r) => r.url.replace(/\/$/, '')))].sort();
      expect(publicApi).toEqual(['/api/v1/access-keys/leaks', '/api/v1/invitations/accept', '/api/v1/invitations/inspect', '/api/v1/session', '/api/v1/token']);
    } finally {
      await app.close();
    }
  });

  it('would catch a route that declares nothing, and the hook refuses it for everyone', async () => {
    const routes: RouteOptions[] = [];
    const app = await buildApp(h.ctx, { logRequests: false, onRoute: (route) => void routes.push(route) });
    app.get('/api/v1/forgotten', async () => ({ secret: 'data' }));
    await app.ready();
    try {
      expect(undeclared(routes)).toEqual(expect.arrayContaining(['GET /api/v1/forgotten (access: undefined)']));
      const admin = await h.key([{ role: 'global-admin' }]);
      for (const headers of [{}, { authorization: `Bearer ${admin.token}` }]) {
        const res = await app.inject({ method: 'GET', url: '/api/v1/forgotten', headers });
        expect(res.statusCode).toBe(403);
        expect(res.json().code).toBe('insufficient_scope');
        expect(res.body).not.toContain('data');
      }
    } finally {
      await app.close();
    }
  });

  it('the API homepage is served locally and documents every call of the console with examples', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    // No CDN: every script and stylesheet comes from this server.
    expect(page.body).not.toMatch(/(src|href)=["']https?:/);
    const init = await h.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { summary?: string; description?: string; requestBody?: unknown; responses?: Record<string, unknown>; security?: unknown[] }>>;
      components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
    };
    expect(doc.components.securitySchemes['apiKey']).toMatchObject({ type: 'http', scheme: 'bearer' });
    const ours = /^\/api\/v1\/(access-keys|cloud-accounts|credentials|assets|policy|reports|token\/introspect)/;
    const lacking: string[] = [];
    let operations = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!ours.test(path)) continue;
      for (const [method, op] of Object.entries(methods)) {
        operations++;
        const where = `${method.toUpperCase()} ${path}`;
        if (!op.summary || !op.description) lacking.push(`${where}: summary/description`);
        if (op.requestBody !== undefined && !JSON.stringify(op.requestBody).includes('"example')) lacking.push(`${where}: request example`);
        const success = Object.entries(op.responses ?? {}).filter(([status]) => status.startsWith('2') && status !== '204');
        if (success.length > 0 && !success.some(([, r]) => JSON.stringify(r).includes('"example'))) lacking.push(`${where}: response example`);
      }
    }
    expect(operations).toBeGreaterThanOrEqual(25);
    expect(lacking).toEqual([]);
  });
});
