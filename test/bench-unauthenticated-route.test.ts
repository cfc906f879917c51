import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unauthenticatedRoute } from '../bench/lib/unauthenticated-route.ts';
import { buildApp } from '../src/app.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount } from './helpers/inventory.ts';

const LIST = '/api/v1/cloud-accounts';
const ONE_ACCOUNT = `${LIST}/:id`;

/** The benchmark's apps without authentication: the routes named served without it, from outside the product. */
describe("the benchmark's unauthenticated routes", () => {
  let h: Harness;
  let bench: FastifyInstance;
  let accountId: string;
  beforeAll(async () => {
    h = await createHarness('sqlite');
    accountId = (await addAccount(h, 'aws')).id;
    await addAccount(h, 'gcp');
    bench = await buildApp(h.ctx, { logRequests: false, onRoute: unauthenticatedRoute(LIST, ONE_ACCOUNT) });
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

  it('serves a route with a parameter, named as it is declared, as the Global Viewer key sees it', async () => {
    const viewer = await h.key([{ role: 'global-viewer' }]);
    const url = `${LIST}/${accountId}`;
    const asViewer = await h.request(viewer.token, { method: 'GET', url });
    const res = await bench.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(asViewer.json());
    expect(res.json().id).toBe(accountId);
    const missing = await bench.inject({ method: 'GET', url: `${LIST}/no-such-account` });
    expect(missing.statusCode).toBe(404);
  });

  it("leaves every other route and method, and the product's own app, authenticated", async () => {
    for (const request of [
      { method: 'POST', url: LIST, payload: { vendor: 'aws', externalId: '123456789012', displayName: 'x' } },
      { method: 'GET', url: '/api/v1/access-keys' },
      { method: 'GET', url: '/api/v1/assets' },
      { method: 'DELETE', url: `${LIST}/no-such-account` },
    ] as const) {
      const res = await bench.inject(request);
      expect(res.statusCode, `${request.method} ${request.url}`).toBe(401);
      expect(res.json().code).toBe('invalid_token');
    }
    const product = await h.app.inject({ method: 'GET', url: LIST });
    expect(product.statusCode).toBe(401);
  });
});
