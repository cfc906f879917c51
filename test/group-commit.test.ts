import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import type { Change } from '../src/changes/change.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

// On SQLite, units of work that arrive together share one transaction, each in a savepoint.
// These tests guard what that must never change: a failing unit leaves no trace and costs the
// others nothing; a group whose transaction fails keeps nothing; changes are announced only
// for units that were committed.
describe('group commit (sqlite)', () => {
  let h: Harness;
  let admin: string;
  const count = async (table: 'access_keys' | 'audit_events', where = sql`1 = 1`) =>
    Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where ${where}`.execute(h.ctx.storage.db)).rows[0]!.n);

  beforeAll(async () => {
    h = await createHarness('sqlite');
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
  });
  afterAll(() => h.close());

  it('creates keys sent at once in shared transactions; the one with a taken name alone fails (409) and leaves nothing', async () => {
    const before = { ...h.ctx.transactions.groupStats };
    const auditBefore = await count('audit_events');
    const names = Array.from({ length: 20 }, (_, i) => `together-${i}`);
    names.splice(10, 0, 'together-3'); // a second "together-3" in the middle of the burst
    const answers = await Promise.all(
      names.map((name) => h.request(admin, { method: 'POST', url: '/api/v1/access-keys', payload: { name, roles: [{ role: 'global-viewer' }] } })),
    );
    const statuses = answers.map((res) => res.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 409)).toHaveLength(1);
    expect(answers.find((res) => res.statusCode === 409)!.json().code).toBe('name_taken');
    expect(await count('access_keys', sql`name like 'together-%'`)).toBe(20);
    expect(await count('audit_events')).toBe(auditBefore + 20);
    const after = h.ctx.transactions.groupStats;
    expect(after.units - before.units).toBe(21);
    // Fewer commits than units: the burst was grouped.
    expect(after.groups - before.groups).toBeLessThan(21);
    // Every key created answers with a token that works.
    for (const res of answers.filter((r) => r.statusCode === 201)) {
      expect((await h.request(res.json().token, { method: 'GET', url: '/api/v1/cloud-accounts?limit=1' })).statusCode).toBe(200);
    }
  });

  it('commits a group holding an access-reducing unit durably (synchronous = FULL), and only such groups; the connection returns to NORMAL', async () => {
    const synchronous = async () => Number((await sql<{ synchronous: number }>`pragma synchronous`.execute(h.ctx.storage.db)).rows[0]!.synchronous);
    const normal = await synchronous();
    expect(normal).toBe(1);
    const keys = await Promise.all(Array.from({ length: 4 }, (_, i) => h.key([{ role: 'global-viewer' }], { name: `durable-${i}` })));
    const before = { ...h.ctx.transactions.groupStats };
    // Creates only: ordinary groups.
    await Promise.all(Array.from({ length: 4 }, (_, i) => h.key([{ role: 'global-viewer' }], { name: `ordinary-${i}` })));
    const afterCreates = { ...h.ctx.transactions.groupStats };
    expect(afterCreates.durableGroups).toBe(before.durableGroups);
    // Creates and removals queued together: every removal is committed in a durable group.
    await Promise.all([
      ...keys.map((key) => h.ctx.accessKeys.remove(CLI_ACTOR, key.id)),
      ...Array.from({ length: 4 }, (_, i) => h.key([{ role: 'global-viewer' }], { name: `alongside-${i}` })),
    ]);
    const after = h.ctx.transactions.groupStats;
    expect(after.durableGroups).toBeGreaterThan(afterCreates.durableGroups);
    expect(await synchronous()).toBe(normal);
    for (const key of keys) await expect(h.ctx.accessKeys.get(key.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('rolls back a failing unit to its savepoint: its writes and its audit event are gone, the next units see and keep their own', async () => {
    const heard: Change[] = [];
    const off = h.ctx.changes.subscribe('all', (change) => heard.push(change));
    const auditBefore = await count('audit_events');
    const unit = (name: string, fail: boolean) =>
      h.ctx.transactions.run(CLI_ACTOR, async (work) => {
        await work.trx
          .insertInto('cloud_accounts')
          .values({
            id: name,
            vendor: 'aws',
            display_name: name,
            external_id: `10000000000${name.at(-1)}`,
            status: 'error',
            status_detail: null,
            credential_id: null,
            created_at: work.now.toISOString(),
          })
          .execute();
        work.audit({ category: 'cloud-accounts', resource: name, resourceId: name, action: 'add', detail: {} });
        work.announce({ kind: 'cloud-account', id: name });
        if (fail) throw new Error(`unit ${name} fails`);
        return name;
      });
    const results = await Promise.allSettled([unit('gc-a1', false), unit('gc-b2', true), unit('gc-c3', false)]);
    off();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('unit gc-b2 fails');
    const ids = (await h.ctx.storage.db.selectFrom('cloud_accounts').select('id').where('id', 'like', 'gc-%').orderBy('id').execute()).map((r) => r.id);
    expect(ids).toEqual(['gc-a1', 'gc-c3']);
    expect(await count('audit_events')).toBe(auditBefore + 2);
    expect(heard.map((c) => c.id)).toEqual(['gc-a1', 'gc-c3']);
  });

  it("runs the kept units' beforeCommit writes after every unit of the group, none of a failed unit's, and fails the group with one that fails", async () => {
    const order: string[] = [];
    const unit = (name: string, fail: boolean) =>
      h.ctx.transactions.run(CLI_ACTOR, async (work) => {
        order.push(`unit ${name}`);
        work.beforeCommit(async (trx) => {
          order.push(`before commit ${name}`);
          await trx
            .insertInto('cloud_accounts')
            .values({
              id: name,
              vendor: 'aws',
              display_name: name,
              external_id: `20000000000${name.at(-1)}`,
              status: 'error',
              status_detail: null,
              credential_id: null,
              created_at: work.now.toISOString(),
            })
            .execute();
        });
        if (fail) throw new Error(`unit ${name} fails`);
      });
    const results = await Promise.allSettled([unit('lw-a1', false), unit('lw-b2', true), unit('lw-c3', false)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(order).toEqual(['unit lw-a1', 'unit lw-b2', 'unit lw-c3', 'before commit lw-a1', 'before commit lw-c3']);
    const ids = (await h.ctx.storage.db.selectFrom('cloud_accounts').select('id').where('id', 'like', 'lw-%').orderBy('id').execute()).map((r) => r.id);
    expect(ids).toEqual(['lw-a1', 'lw-c3']);

    const failing = h.ctx.transactions.run(CLI_ACTOR, async (work) => {
      work.audit({ category: 'users', resource: 'lw-d4', resourceId: null, action: 'edit', detail: {} });
      work.beforeCommit(async () => {
        throw new Error('the write before commit fails');
      });
    });
    await expect(failing).rejects.toThrow('the write before commit fails');
    expect(await count('audit_events', sql`resource = 'lw-d4'`)).toBe(0);
  });

  it('keeps nothing of a group whose transaction fails, and announces nothing of it', async () => {
    const heard: Change[] = [];
    const off = h.ctx.changes.subscribe('all', (change) => heard.push(change));
    const auditBefore = await count('audit_events');
    const keep = (id: string) =>
      h.ctx.transactions.run(CLI_ACTOR, async (work) => {
        work.audit({ category: 'users', resource: id, resourceId: null, action: 'edit', detail: {} });
        work.announce({ kind: 'user', id });
        return id;
      });
    // A unit that ends the shared transaction itself: its savepoint is gone, so the group fails.
    const breaker = h.ctx.transactions.run(CLI_ACTOR, async (work) => {
      await sql`rollback`.execute(work.trx);
      throw new Error('broke the transaction');
    });
    const results = await Promise.allSettled([keep('gc-first'), breaker, keep('gc-after')]);
    off();
    expect(results[1]!.status).toBe('rejected');
    // Whichever units shared the breaker's group failed with it; each unit is kept, audited and
    // announced exactly when its caller was told it succeeded.
    for (const [i, id] of [
      [0, 'gc-first'],
      [2, 'gc-after'],
    ] as const) {
      const ok = results[i]!.status === 'fulfilled';
      expect(await count('audit_events', sql`resource = ${id}`), id).toBe(ok ? 1 : 0);
      expect(
        heard.some((c) => c.id === id),
        id,
      ).toBe(ok);
    }
    // The unit before the breaker normally shares its group, and so fails with it.
    expect(await count('audit_events')).toBe(auditBefore + results.filter((r) => r.status === 'fulfilled').length);
    // The writer still works afterwards.
    await expect(keep('later')).resolves.toBe('later');
  });
});
