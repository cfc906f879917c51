import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetExpiryWarnings, warningThreshold } from '../src/access-keys/expiry-warnings.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, testClock, type Harness } from './helpers/harness.ts';
import { startReceiver, type Receiver } from './helpers/webhook-receiver.ts';

const DAY = 24 * 60 * 60 * 1000;

describe('warningThreshold', () => {
  it('picks the smallest threshold the remaining time has crossed', () => {
    const thresholds = [30, 7, 1];
    expect(warningThreshold(thresholds, 31 * DAY)).toBeUndefined();
    expect(warningThreshold(thresholds, 30 * DAY)).toBe(30);
    expect(warningThreshold(thresholds, 7 * DAY)).toBe(7);
    expect(warningThreshold(thresholds, 6.5 * DAY)).toBe(7);
    expect(warningThreshold(thresholds, 1)).toBe(1);
  });
});

describe.each(DIALECTS)('expiry warnings (%s)', (dialect) => {
  let h: Harness;
  let receiver: Receiver;
  let hookId: string;

  beforeAll(async () => {
    h = await createHarness(dialect, { env: { TESSERA_WEBHOOK_ALLOW_PRIVATE: 'true' }, clock: testClock(new Date()) });
    receiver = await startReceiver();
    const hook = await h.ctx.webhooks.create({ name: 'test', ip: null }, { url: receiver.url, events: ['access_key.expiring', 'access_key.expired'] });
    hookId = hook.webhook.id;
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });
  beforeEach(() => void (receiver.received.length = 0));

  /** Runs the job, sends what it queued, and returns the events received as [key name, type, warningDays]. */
  const runJob = async () => {
    await h.ctx.expiryWarnings.run();
    await h.ctx.webhookSender.deliverDue();
    const events = receiver.received.map((r) => JSON.parse(r.body));
    receiver.received.length = 0;
    return events.map((e) => [e.data.name, e.type, e.data.warningDays ?? null, e.data.daysLeft ?? null]).sort();
  };

  it('warns once per key, for the smallest threshold crossed, then once when it expires', async () => {
    await h.key([{ role: 'global-viewer' }], { name: 'week', expiration: '7d' });
    await h.key([{ role: 'global-viewer' }], { name: 'month', expiration: '30d' });
    await h.key([{ role: 'global-viewer' }], { name: 'quarter', expiration: '90d' });
    // A 7-day key gets one event, for 7 (not one for 30 as well); a 90-day key none yet.
    expect(await runJob()).toEqual([
      ['month', 'access_key.expiring', 30, 30],
      ['week', 'access_key.expiring', 7, 7],
    ]);
    expect(await runJob()).toEqual([]);
    h.clock.advance(6 * DAY + 1000);
    expect(await runJob()).toEqual([['week', 'access_key.expiring', 1, 1]]);
    h.clock.advance(DAY);
    expect(await runJob()).toEqual([['week', 'access_key.expired', null, null]]);
    expect(await runJob()).toEqual([]);
    // The month key: 23 days on, 7 days left at most.
    h.clock.advance(16 * DAY);
    expect(await runJob()).toEqual([['month', 'access_key.expiring', 7, 7]]);
    const data = (await h.ctx.webhooks.deliveries(hookId, { limit: 200 })).items.map((d) => d.type);
    expect(data.filter((t) => t === 'access_key.expired')).toHaveLength(1);
  });

  it('starts again for a key whose warnings were reset (a roll)', async () => {
    const key = await h.key([{ role: 'global-viewer' }], { name: 'rolled', expiration: '7d' });
    expect(await runJob()).toEqual([['rolled', 'access_key.expiring', 7, 7]]);
    await h.ctx.transactions.run({ name: 'test', ip: null }, (work) => resetExpiryWarnings(work, key.id));
    expect(await runJob()).toEqual([['rolled', 'access_key.expiring', 7, 7]]);
    expect(await runJob()).toEqual([]);
  });
});

describe.each(DIALECTS)('keys expiring soon (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
    await h.key([{ role: 'global-viewer' }], { name: 'in-two-days', expiration: { days: 2 } });
    await h.key([{ role: 'global-viewer' }], { name: 'in-a-week', expiration: '7d' });
    await h.key([{ role: 'global-viewer' }], { name: 'in-ten-days', expiration: { days: 10 } });
    await h.key([{ role: 'global-viewer' }], { name: 'in-a-month', expiration: '30d' });
  });
  afterAll(() => h.close());

  it('counts them and names the soonest', async () => {
    const res = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys/expiring-soon' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ withinDays: 7, count: 2, capped: false });
    expect(res.json().soonest.map((k: { name: string }) => k.name)).toEqual(['in-two-days', 'in-a-week']);
    expect((await h.request(admin, { method: 'GET', url: '/api/v1/access-keys/expiring-soon?withinDays=30' })).json().count).toBe(4);
    const bad = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys/expiring-soon?withinDays=0' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0]).toMatchObject({ in: 'query', pointer: '/withinDays' });
    const viewer = (await h.key([{ role: 'global-viewer' }])).token;
    expect((await h.request(viewer, { method: 'GET', url: '/api/v1/access-keys/expiring-soon' })).statusCode).toBe(403);
  });

  it('filters the list to a window with expiringWithinDays', async () => {
    const res = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?status=expiring&expiringWithinDays=7&sort=expiresAt&order=asc' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items.map((k: { name: string }) => k.name)).toEqual(['in-two-days', 'in-a-week']);
    const thirty = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?status=expiring&sort=expiresAt&order=asc' });
    expect(thirty.json().items.map((k: { name: string }) => k.name)).toEqual(['in-two-days', 'in-a-week', 'in-ten-days', 'in-a-month']);
    const alone = await h.request(admin, { method: 'GET', url: '/api/v1/access-keys?expiringWithinDays=7' });
    expect(alone.statusCode).toBe(400);
    expect(alone.json().errors[0]).toMatchObject({ in: 'query', pointer: '/expiringWithinDays' });
  });
});
