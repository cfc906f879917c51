import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addUser, asSession, signIn } from './helpers/people.ts';

const DAY = 24 * 3600 * 1000;

interface Event {
  id: string;
  at: string;
  actor: string;
  actorIp: string | null;
  category: string;
  resource: string;
  resourceId: string | null;
  action: string;
  detail: Record<string, unknown>;
}

describe.each(DIALECTS)('the audit log (%s)', (dialect) => {
  let h: Harness;
  let adminKey: string;
  let start: Date;
  beforeAll(async () => {
    h = await createHarness(dialect);
    start = h.clock();
    adminKey = (await h.key([{ role: 'global-admin' }], { name: 'auditor' })).token;
  });
  afterAll(() => h.close());

  const list = async (query = '', token = adminKey) => {
    const res = await h.request(token, { method: 'GET', url: `/api/v1/audit-events${query}` });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: Event[]; nextCursor: string | null };
  };

  it('records API-key work with actor key:<name> and the client address; lists newest first', async () => {
    h.clock.advance(1000);
    const created = await h.request(adminKey, {
      method: 'POST',
      url: '/api/v1/access-keys',
      payload: { name: 'audited', roles: [{ role: 'global-viewer' }] },
      remoteAddress: '10.8.0.1',
    });
    h.clock.advance(1000);
    await h.request(adminKey, {
      method: 'PATCH',
      url: `/api/v1/access-keys/${created.json().id}`,
      payload: { roles: [{ role: 'global-admin' }] },
      remoteAddress: '10.8.0.1',
    });
    h.clock.advance(1000);
    await h.request(adminKey, { method: 'DELETE', url: `/api/v1/access-keys/${created.json().id}`, remoteAddress: '10.8.0.1' });
    const { items } = await list('?actor=key:auditor');
    expect(items.map((e) => e.action)).toEqual(['delete', 'edit', 'add']);
    expect(items[1]).toMatchObject({
      actor: 'key:auditor',
      actorIp: '10.8.0.1',
      category: 'access-keys',
      resource: 'audited',
      resourceId: created.json().id,
      detail: { before: [{ role: 'global-viewer' }], after: [{ role: 'global-admin' }] },
    });
    expect(JSON.stringify(items)).not.toContain(created.json().token);
    const times = items.map((e) => e.at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('paginates with a cursor, without gaps or repeats', async () => {
    for (let i = 0; i < 7; i++)
      await h.ctx.users.createActive(CLI_ACTOR, { email: `page${i}@example.com`, roles: [{ role: 'global-viewer' }], password: 'a long password' });
    const all = (await list('?limit=200')).items.map((e) => e.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Event[]; nextCursor: string | null } = await list(`?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(all.length);
  });

  it('filters by from (inclusive), to (exclusive), actor, category and action', async () => {
    const t0 = new Date(start.getTime() + 10 * DAY);
    h.clock.set(t0);
    await h.ctx.users.createActive(CLI_ACTOR, { email: 'f1@example.com', roles: [{ role: 'global-viewer' }], password: 'a long password' });
    h.clock.set(new Date(t0.getTime() + 60_000));
    const user = await addUser(h, [{ role: 'global-admin' }], 'f2@example.com');
    h.clock.set(new Date(t0.getTime() + 120_000));
    const s = await signIn(h, user.email);
    const from = t0.toISOString();
    const to = new Date(t0.getTime() + 120_000).toISOString();
    const window = await list(`?from=${from}&to=${to}`);
    expect(window.items.map((e) => e.resource)).toEqual(['f2@example.com', 'f1@example.com']);
    expect((await list(`?from=${from}&category=session`)).items.map((e) => [e.action, e.actor])).toEqual([['sign-in', 'f2@example.com']]);
    expect((await list(`?from=${from}&action=add&actor=cli`)).items).toHaveLength(2);
    expect((await list(`?actor=nobody`)).items).toEqual([]);
    // Offsets are accepted and compared as instants.
    const offset = await list(`?from=${encodeURIComponent(new Date(t0.getTime() + 60_000).toISOString().replace('Z', '+00:00'))}&to=${to}`);
    expect(offset.items.map((e) => e.resource)).toEqual(['f2@example.com']);
    const bad = await h.request(adminKey, { method: 'GET', url: '/api/v1/audit-events?from=yesterday' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('validation_failed');
    const badCategory = await h.request(adminKey, { method: 'GET', url: '/api/v1/audit-events?category=nope' });
    expect(badCategory.json().code).toBe('validation_failed');
    // A Global Admin user reads it too.
    const viaSession = await asSession(h, s, { method: 'GET', url: '/api/v1/audit-events?limit=1' });
    expect(viaSession.statusCode).toBe(200);
  });

  it('is for Global Admins only', async () => {
    const viewer = (await h.key([{ role: 'global-viewer' }])).token;
    const res = await h.request(viewer, { method: 'GET', url: '/api/v1/audit-events' });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('insufficient_scope');
    expect((await h.request(undefined, { method: 'GET', url: '/api/v1/audit-events' })).statusCode).toBe(401);
  });

  it('no change without its event, no event without its change', async () => {
    const before = await h.ctx.storage.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    // A refused change writes nothing.
    const refused = await h.request(adminKey, {
      method: 'POST',
      url: '/api/v1/users',
      payload: { email: 'ghost@example.com', roles: [{ role: 'cloud-account-viewer', accounts: ['missing'] }] },
    });
    expect(refused.statusCode).toBe(400);
    // A change whose transaction fails after its event was written leaves neither.
    await expect(
      h.ctx.transactions.run(CLI_ACTOR, async (work) => {
        await work.trx.updateTable('users').set({ display_name: 'changed' }).where('email', '=', 'f1@example.com').execute();
        work.audit({ category: 'users', resource: 'f1@example.com', resourceId: null, action: 'edit', detail: {} });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const after = await h.ctx.storage.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    const user = await h.ctx.storage.db.selectFrom('users').select('display_name').where('email', '=', 'f1@example.com').executeTakeFirstOrThrow();
    expect(user.display_name).toBe('f1');
    expect(await h.ctx.storage.db.selectFrom('users').selectAll().where('email', '=', 'ghost@example.com').executeTakeFirst()).toBeUndefined();
  });

  it('records an entry as it is when recorded: a later change to its detail object in the same unit is not written', async () => {
    const resource = `snapshot-${dialect}-${Date.now()}`;
    await h.ctx.transactions.run(CLI_ACTOR, async (work) => {
      const detail: Record<string, unknown> = { before: 'a' };
      work.audit({ category: 'users', resource, resourceId: null, action: 'edit', detail });
      detail['before'] = 'changed later';
      detail['extra'] = true;
    });
    const row = await h.ctx.storage.db.selectFrom('audit_events').select('detail').where('resource', '=', resource).executeTakeFirstOrThrow();
    expect(JSON.parse(row.detail)).toEqual({ before: 'a' });
  });

  it('the retention sweep deletes events older than the retention period (365 days by default), and only those', async () => {
    const now = h.clock();
    const count = async () =>
      Number(
        (
          await h.ctx.storage.db
            .selectFrom('audit_events')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const total = await count();
    // The service's sweep, called directly: runNow() skips when another holder has the job's
    // advisory lock, and this assertion must not depend on that.
    h.clock.set(new Date(start.getTime() + 365 * DAY - 1000));
    expect(await h.ctx.audit.sweep()).toBe(0);
    expect(await count()).toBe(total);
    h.clock.set(new Date(start.getTime() + 365 * DAY + 5 * DAY));
    expect(await h.ctx.audit.sweep()).toBeGreaterThan(0);
    const left = await h.ctx.storage.db.selectFrom('audit_events').select('at').execute();
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(total);
    for (const row of left) expect(Date.parse(row.at)).toBeGreaterThanOrEqual(start.getTime() + 5 * DAY);
    h.clock.set(now);
  });
});

describe('audit retention is configurable', () => {
  it('TESSERA_AUDIT_RETENTION_DAYS=30 keeps 30 days', async () => {
    const h = await createHarness('sqlite', { env: { TESSERA_AUDIT_RETENTION_DAYS: '30' } });
    try {
      await h.key([{ role: 'global-viewer' }]);
      h.clock.advance(29 * DAY);
      await h.ctx.scheduler.runNow('audit-retention');
      expect(await h.ctx.storage.db.selectFrom('audit_events').selectAll().where('category', '=', 'access-keys').execute()).toHaveLength(1);
      h.clock.advance(2 * DAY);
      await h.ctx.scheduler.runNow('audit-retention');
      expect(await h.ctx.storage.db.selectFrom('audit_events').selectAll().where('category', '=', 'access-keys').execute()).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});
