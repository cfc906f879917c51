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
      // No API route but sign-in, the token grant and invitations is open to the world.
      const publicApi = [...new Set(api.filter((r) => r.config?.access === 'public').map((r) => r.url.replace(/\/$/, '')))].sort();
      expect(publicApi).toEqual(['/api/v1/invitations/accept', '/api/v1/invitations/inspect', '/api/v1/session', '/api/v1/token']);
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
});
