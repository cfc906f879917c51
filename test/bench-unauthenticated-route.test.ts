import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unauthenticatedRoute } from '../bench/lib/unauthenticated-route.ts';
import { buildApp } from '../src/app.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount } from './helpers/inventory.ts';

const LIST = '/api/v1/cloud-accounts';

/** The benchmark's (a): one route served without authentication, from outside the product. */
describe("the benchmark's unauthenticated route", () => {
  let h: Harness;
  let bench: FastifyInstance;
  beforeAll(async () => {
    h = await createHarness('sqlite');
    await addAccount(h, 'aws');
    await addAccount(h, 'gcp');
    bench = await buildApp(h.ctx, { logRequests: false, onRoute: unauthenticatedRoute(LIST) });
  });
  afterAll(async () => {
    await bench.close();
    await h.close();
  });

  it('serves GET of its path without a token, as a Global Viewer key sees it, through the same hooks', async () => {
    const viewer = await h.key([{ role: 'global-viewer' }]);
    const asViewer = await h.request(viewer.token, { method: 'GET', url: LIST });
    for (const url of [LIST, `${LIST}/`]) {
      const res = await bench.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.json()).toEqual(asViewer.json());
      expect(res.json().items).toHaveLength(2);
      // The app's own onSend hook ran as for an authenticated request.
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    }
  });

  it("leaves every other route and method, and the product's own app, authenticated", async () => {
    for (const request of [
      { method: 'POST', url: LIST, payload: { vendor: 'aws', externalId: '123456789012', displayName: 'x' } },
      { method: 'GET', url: '/api/v1/access-keys' },
      { method: 'GET', url: '/api/v1/assets' },
    ] as const) {
      const res = await bench.inject(request);
      expect(res.statusCode, `${request.method} ${request.url}`).toBe(401);
      expect(res.json().code).toBe('invalid_token');
    }
    const product = await h.app.inject({ method: 'GET', url: LIST });
    expect(product.statusCode).toBe(401);
  });
});
