import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPIRY_WARNING_JOB } from '../src/access-keys/expiry-warnings.ts';
import { createContext, type Context } from '../src/context.ts';
import { WEBHOOK_DELIVERY_JOB } from '../src/webhooks/webhook-sender.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, testClock, type Harness } from './helpers/harness.ts';
import { startReceiver, type Receiver } from './helpers/webhook-receiver.ts';

// Two instances on one PostgreSQL database, each with its own pool and scheduler, running the
// delivery and expiry jobs at the same moments: every event must reach the receiver once.
describe.runIf(DIALECTS.includes('postgres'))('webhooks with two instances on PostgreSQL', () => {
  let h: Harness;
  let second: Context;
  let receiver: Receiver;
  const actor = { name: 'test', ip: null };

  beforeAll(async () => {
    h = await createHarness('postgres', { env: { TESSERA_WEBHOOK_ALLOW_PRIVATE: 'true' }, clock: testClock(new Date()) });
    second = await createContext(h.config, pino({ level: 'silent' }), { clock: h.clock });
    // Slow enough that the two instances' runs overlap.
    receiver = await startReceiver({ delayMs: 20 });
    await h.ctx.webhooks.create(actor, { url: receiver.url, events: ['access_key.created', 'access_key.expiring'] });
  });
  afterAll(async () => {
    await receiver.close();
    await second.close();
    await h.close();
  });

  const both = (job: string) => Promise.all([h.ctx.scheduler.runNow(job, { force: true }), second.scheduler.runNow(job, { force: true })]);

  it('delivers each event once however the instances race', async () => {
    const services = [h.ctx.accessKeys, second.accessKeys];
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => services[i % 2]!.create(actor, { name: `race-${round}-${i}`, roles: [{ role: 'global-viewer' }] })));
      const outcomes = await both(WEBHOOK_DELIVERY_JOB);
      // The lock lets one in at a time: the other finds it busy, or runs after it.
      expect(outcomes).toContain('ran');
    }
    while ((await h.ctx.storage.db.selectFrom('webhook_deliveries').select('id').where('status', '=', 'pending').execute()).length > 0) await both(WEBHOOK_DELIVERY_JOB);
    const ids = receiver.received.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    const names = receiver.received.map((r) => JSON.parse(r.body).data.name);
    expect(new Set(names).size).toBe(40);
  });

  it('sends each expiry warning once', async () => {
    receiver.received.length = 0;
    for (let i = 0; i < 6; i++) await h.ctx.accessKeys.create(actor, { name: `soon-${i}`, roles: [{ role: 'global-viewer' }], expiration: '7d' });
    await both(EXPIRY_WARNING_JOB);
    await both(EXPIRY_WARNING_JOB);
    while ((await h.ctx.storage.db.selectFrom('webhook_deliveries').select('id').where('status', '=', 'pending').execute()).length > 0) await both(WEBHOOK_DELIVERY_JOB);
    const warnings = receiver.received.map((r) => JSON.parse(r.body)).filter((b) => b.type === 'access_key.expiring');
    expect(warnings.map((w) => w.data.name).sort()).toEqual(['soon-0', 'soon-1', 'soon-2', 'soon-3', 'soon-4', 'soon-5']);
    expect(warnings.every((w) => w.data.warningDays === 7)).toBe(true);
  });
});
