import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

describe.each(DIALECTS)('access keys API (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
  });
  afterAll(() => h.close());

  it('creates a key whose token works at once, and lists it without the token', async () => {
    const created = await h.request(admin, { method: 'POST', url: '/api/v1/access-keys', payload: { name: 'ci-bot', roles: [{ role: 'global-viewer' }] } });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.token).toMatch(/^eyJ/);
    expect(body.status).toBe('active');
    const list = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys' });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(body.token);
    expect(list.json().items.map((k: { name: string }) => k.name)).toContain('ci-bot');
  });
});
