import { Writable } from 'node:stream';
import pino from 'pino';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DORMANT_KEYS_JOB } from '../src/access-keys/access-key.service.ts';
import { isPrivateAddress, RefusedAddressError, resolveWebhookHost } from '../src/webhooks/addresses.ts';
import { WebhookSender } from '../src/webhooks/webhook-sender.ts';
import { RETRY_DELAYS_MS, RETRY_WINDOW_MS } from '../src/webhooks/webhook.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, testClock, type Harness } from './helpers/harness.ts';
import { startReceiver, type Receiver } from './helpers/webhook-receiver.ts';

const ALLOW_PRIVATE = { TESSERA_WEBHOOK_ALLOW_PRIVATE: 'true' };
const url = '/api/v1/webhooks';

describe.each(DIALECTS)('webhooks (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let receiver: Receiver;

  beforeAll(async () => {
    // Near the real time: receivers check `webhook-timestamp` against their own clock.
    h = await createHarness(dialect, { env: ALLOW_PRIVATE, clock: testClock(new Date()) });
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });
  afterEach(async () => {
    receiver.answer(200);
    receiver.received.length = 0;
    for (const hook of (await h.request(admin, { method: 'GET', url })).json().items) await h.request(admin, { method: 'DELETE', url: `${url}/${hook.id}` });
  });

  const addWebhook = async (events: string[], target = receiver.url) => {
    const res = await h.request(admin, { method: 'POST', url, payload: { url: target, events } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; secret: string; url: string; events: string[] };
  };
  const deliveries = async (id: string) => (await h.request(admin, { method: 'GET', url: `${url}/${id}/deliveries` })).json().items;

  it('shows the secret once, keeps it sealed, and lists, edits and removes webhooks', async () => {
    const res = await h.request(admin, {
      method: 'POST',
      url,
      payload: { url: receiver.url, events: ['access_key.removed', 'access_key.created'], description: ' CI ' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created).toMatchObject({ url: receiver.url, events: ['access_key.created', 'access_key.removed'], description: 'CI' });
    expect(res.headers['cache-control']).toBe('no-store');
    const listed = await h.request(admin, { method: 'GET', url });
    expect(listed.json().items).toHaveLength(1);
    expect(listed.body).not.toContain(created.secret.slice(6, 30));
    const one = await h.request(admin, { method: 'GET', url: `${url}/${created.id}` });
    expect(Object.keys(one.json()).sort()).toEqual(['createdAt', 'description', 'events', 'id', 'updatedAt', 'url']);
    const row = await h.ctx.storage.db.selectFrom('webhooks').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(row.secret_sealed).not.toContain(created.secret.slice(6, 30));
    const audit = await h.ctx.storage.db.selectFrom('audit_events').select(['detail', 'category', 'action']).where('resource_id', '=', created.id).execute();
    expect(audit).toMatchObject([{ category: 'webhooks', action: 'add' }]);
    expect(JSON.stringify(audit)).not.toContain(created.secret.slice(6, 30));

    const edited = await h.request(admin, { method: 'PATCH', url: `${url}/${created.id}`, payload: { events: ['access_key.expiring'], description: null } });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json()).toMatchObject({ events: ['access_key.expiring'], description: null, url: receiver.url });
    expect((await h.request(admin, { method: 'DELETE', url: `${url}/${created.id}` })).statusCode).toBe(204);
    expect((await h.request(admin, { method: 'GET', url: `${url}/${created.id}` })).json().code).toBe('not_found');
  });

  it('refuses bad input naming the field, and callers without the Global Admin role', async () => {
    const cases: Array<[object, string]> = [
      [{ url: receiver.url, events: ['access_key.sneezed'] }, '/events/0'],
      [{ url: receiver.url, events: [] }, '/events'],
      [{ url: 'ftp://example.com/x', events: ['access_key.created'] }, '/url'],
      [{ url: 'not a url', events: ['access_key.created'] }, '/url'],
      [{ url: 'https://user:pw@example.com/x', events: ['access_key.created'] }, '/url'],
      [{ url: receiver.url, events: ['access_key.created'], secret: 'whsec_mine' }, '/secret'],
    ];
    for (const [payload, pointer] of cases) {
      const res = await h.request(admin, { method: 'POST', url, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer });
    }
    const viewer = (await h.key([{ role: 'global-viewer' }])).token;
    for (const [method, path] of [
      ['GET', url],
      ['POST', url],
      ['GET', `${url}/x/deliveries`],
    ] as const) {
      const res = await h.request(viewer, { method, url: path, payload: method === 'POST' ? { url: receiver.url, events: ['access_key.created'] } : undefined });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('insufficient_scope');
    }
  });

  it('delivers a key event that the receiver verifies with the standardwebhooks package', async () => {
    const hook = await addWebhook(['access_key.created']);
    const created = await h.request(admin, { method: 'POST', url: '/api/v1/access-keys', payload: { name: 'ci-bot', roles: [{ role: 'global-viewer' }] } });
    expect(created.statusCode).toBe(201);
    expect(receiver.received).toHaveLength(0);
    expect(await h.ctx.webhookSender.deliverDue()).toBe(1);
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    const verified = new StandardWebhook(hook.secret).verify(request!.body, request!.headers as Record<string, string>) as {
      type: string;
      timestamp: string;
      data: Record<string, unknown>;
    };
    expect(verified.type).toBe('access_key.created');
    expect(verified.data).toMatchObject({ id: created.json().id, name: 'ci-bot', roles: [{ role: 'global-viewer' }], status: 'active' });
    expect(request!.body).not.toContain(created.json().token);
    expect(request!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    // Another secret does not verify it.
    expect(() => new StandardWebhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(request!.body, request!.headers as Record<string, string>)).toThrow();
    const [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({
      id: request!.headers['webhook-id'],
      type: 'access_key.created',
      status: 'delivered',
      nextAttemptAt: null,
      attempts: [{ statusCode: 200, error: null }],
    });
    expect(await h.ctx.webhookSender.deliverDue()).toBe(0);
  });

  it('writes events only with a committed change, and only to the webhooks subscribed', async () => {
    const onRemove = await addWebhook(['access_key.removed']);
    const onEdit = await addWebhook(['access_key.updated']);
    const key = await h.key([{ role: 'global-viewer' }], { name: 'short-lived' });
    // A create that fails (the name is taken) is rolled back with its event.
    expect(
      (await h.request(admin, { method: 'POST', url: '/api/v1/access-keys', payload: { name: 'short-lived', roles: [{ role: 'global-viewer' }] } })).statusCode,
    ).toBe(409);
    expect((await h.request(admin, { method: 'PATCH', url: `/api/v1/access-keys/${key.id}`, payload: { roles: [{ role: 'global-admin' }] } })).statusCode).toBe(200);
    expect((await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${key.id}` })).statusCode).toBe(204);
    const outbox = await h.ctx.storage.db.selectFrom('webhook_deliveries').select(['webhook_id', 'event_type']).orderBy('event_type').execute();
    expect(outbox).toEqual([
      { webhook_id: onRemove.id, event_type: 'access_key.removed' },
      { webhook_id: onEdit.id, event_type: 'access_key.updated' },
    ]);
    await h.ctx.webhookSender.deliverDue();
    const bodies = receiver.received.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.type).sort()).toEqual(['access_key.removed', 'access_key.updated']);
    expect(bodies.find((b) => b.type === 'access_key.updated').data.roles).toEqual([{ role: 'global-admin' }]);
    expect(bodies.find((b) => b.type === 'access_key.removed').data).toMatchObject({ id: key.id, name: 'short-lived' });
    for (const body of bodies) expect(JSON.stringify(body)).not.toContain(key.token);
  });

  it('retries with backoff under the same webhook-id, each attempt signed afresh', async () => {
    const hook = await addWebhook(['access_key.created']);
    let calls = 0;
    receiver.answer(() => (++calls <= 2 ? 503 : 204));
    await h.key([{ role: 'global-viewer' }]);
    await h.ctx.webhookSender.deliverDue();
    let [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ status: 'pending', attempts: [{ statusCode: 503, error: 'answered 503' }] });
    expect(Date.parse(delivery.nextAttemptAt) - Date.parse(delivery.attempts[0].at)).toBe(RETRY_DELAYS_MS[0]);
    // Not due yet: nothing is sent.
    expect(await h.ctx.webhookSender.deliverDue()).toBe(0);
    h.clock.advance(RETRY_DELAYS_MS[0]!);
    await h.ctx.webhookSender.deliverDue();
    h.clock.advance(RETRY_DELAYS_MS[1]!);
    await h.ctx.webhookSender.deliverDue();
    expect(receiver.received).toHaveLength(3);
    const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-timestamp'])).size).toBe(3);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    for (const request of receiver.received) expect(() => new StandardWebhook(hook.secret).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
    [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ id: [...ids][0], status: 'delivered', nextAttemptAt: null });
    expect(delivery.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([503, 503, 204]);
  });

  it('gives up 24 hours after the event, and never follows a redirect', async () => {
    const hook = await addWebhook(['access_key.created']);
    const elsewhere = await startReceiver();
    try {
      receiver.answer(302, { location: elsewhere.url });
      const start = h.clock();
      await h.key([{ role: 'global-viewer' }]);
      for (let i = 0; i < 20; i++) {
        await h.ctx.webhookSender.deliverDue();
        const [delivery] = await deliveries(hook.id);
        if (delivery.nextAttemptAt === null) break;
        h.clock.set(new Date(delivery.nextAttemptAt));
      }
      const [delivery] = await deliveries(hook.id);
      expect(delivery.status).toBe('failed');
      expect(delivery.attempts).toHaveLength(RETRY_DELAYS_MS.length + 1);
      expect(delivery.attempts[0]).toMatchObject({ statusCode: 302, error: 'answered 302: redirects are not followed' });
      expect(Date.parse(delivery.attempts.at(-1).at) - start.getTime()).toBeLessThanOrEqual(RETRY_WINDOW_MS);
      expect(Date.parse(delivery.attempts.at(-1).at) - start.getTime()).toBeGreaterThan(RETRY_WINDOW_MS - 60 * 60 * 1000);
      expect(elsewhere.received).toHaveLength(0);
      expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    } finally {
      h.clock.set(new Date());
      await elsewhere.close();
    }
  });

  it('sends a test event on demand, and drops pending deliveries with their webhook', async () => {
    const hook = await addWebhook(['access_key.expired']);
    const res = await h.request(admin, { method: 'POST', url: `${url}/${hook.id}/test` });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({ type: 'webhook.test', status: 'pending', attempts: [] });
    await h.ctx.webhookSender.deliverDue();
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'webhook.test', data: { webhookId: hook.id } });
    expect(receiver.received[0]!.headers['webhook-id']).toBe(res.json().id);

    await h.request(admin, { method: 'POST', url: `${url}/${hook.id}/test` });
    await h.request(admin, { method: 'DELETE', url: `${url}/${hook.id}` });
    expect(await h.ctx.webhookSender.deliverDue()).toBe(0);
    expect(await h.ctx.storage.db.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', hook.id).execute()).toEqual([]);
    expect((await h.request(admin, { method: 'GET', url: `${url}/${hook.id}/deliveries` })).statusCode).toBe(404);
  });

  it('bounds an attempt by its timeout', async () => {
    const hook = await addWebhook(['access_key.created']);
    const silent = await startReceiver({ delayMs: 3000 });
    try {
      await h.request(admin, { method: 'PATCH', url: `${url}/${hook.id}`, payload: { url: silent.url } });
      const sender = new WebhookSender(h.ctx.storage.db, h.ctx.box, h.clock, pino({ level: 'silent' }), { allowPrivate: true, timeoutMs: 300 });
      await h.key([{ role: 'global-viewer' }]);
      const started = Date.now();
      await sender.deliverDue();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(silent.received).toHaveLength(1);
      const [delivery] = await deliveries(hook.id);
      expect(delivery).toMatchObject({ status: 'pending', attempts: [{ statusCode: null, error: 'no answer within 0.3 s' }] });
    } finally {
      await silent.close();
    }
  });

  it('cuts an attempt short when the server stops, and retries it later', async () => {
    const hook = await addWebhook(['access_key.created']);
    const slow = await startReceiver({ delayMs: 5000 });
    try {
      await h.request(admin, { method: 'PATCH', url: `${url}/${hook.id}`, payload: { url: slow.url } });
      const sender = new WebhookSender(h.ctx.storage.db, h.ctx.box, h.clock, pino({ level: 'silent' }), { allowPrivate: true });
      await h.key([{ role: 'global-viewer' }]);
      const started = Date.now();
      const run = sender.deliverDue();
      await new Promise((resolve) => setTimeout(resolve, 200));
      sender.stop();
      await run;
      expect(Date.now() - started).toBeLessThan(3000);
      const [delivery] = await deliveries(hook.id);
      expect(delivery).toMatchObject({ status: 'pending', attempts: [{ statusCode: null, error: 'interrupted: the server was stopping' }] });
    } finally {
      await slow.close();
    }
  });

  it('checks the address again when it delivers: a private one is refused unless allowed', async () => {
    const hook = await addWebhook(['access_key.created']);
    const strict = new WebhookSender(h.ctx.storage.db, h.ctx.box, h.clock, pino({ level: 'silent' }), { allowPrivate: false });
    await h.key([{ role: 'global-viewer' }]);
    expect(await strict.deliverDue()).toBe(1);
    expect(receiver.received).toHaveLength(0);
    const [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ status: 'pending', attempts: [{ statusCode: null }] });
    expect(delivery.attempts[0].error).toMatch(/^refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback, private or link-local address$/);
  });
});

describe('webhook addresses (SSRF)', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness('sqlite');
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
  });
  afterAll(() => h.close());

  it('refuses loopback, private and link-local URLs at creation and on edit', async () => {
    for (const target of [
      'http://127.0.0.1:8080/x',
      'http://10.1.2.3/x',
      'http://172.16.0.1/x',
      'http://192.168.1.1/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/x',
      'http://[fe80::1]/x',
      'http://[fd00::1]/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://0.0.0.0/x',
      'http://localhost:9000/x',
      'http://metadata.google.internal/x',
      'http://2130706433/x',
    ]) {
      const res = await h.request(admin, { method: 'POST', url, payload: { url: target, events: ['access_key.created'] } });
      expect(res.statusCode, target).toBe(400);
      expect(res.json().errors[0]).toMatchObject({ in: 'body', pointer: '/url' });
      expect(res.json().detail).toContain('TESSERA_WEBHOOK_ALLOW_PRIVATE');
    }
    const ok = await h.request(admin, { method: 'POST', url, payload: { url: 'https://203.0.113.7/hooks', events: ['access_key.created'] } });
    expect(ok.statusCode, ok.body).toBe(201);
    const edit = await h.request(admin, { method: 'PATCH', url: `${url}/${ok.json().id}`, payload: { url: 'http://192.168.0.10/hooks' } });
    expect(edit.statusCode).toBe(400);
    expect(edit.json().errors[0]).toMatchObject({ pointer: '/url' });
  });

  it('classifies addresses, and checks what a name resolves to', async () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '100.64.1.1',
      '169.254.169.254',
      '172.31.255.255',
      '192.168.0.1',
      '::1',
      'fe80::1',
      'fc00::1',
      '::ffff:10.0.0.1',
      '::ffff:a00:1',
      '64:ff9b::a9fe:a9fe',
      '2002:7f00:1::1',
      '224.0.0.1',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['203.0.113.7', '8.8.8.8', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) expect(isPrivateAddress(address), address).toBe(false);
    await expect(resolveWebhookHost('localhost', false)).rejects.toBeInstanceOf(RefusedAddressError);
    await expect(resolveWebhookHost('localhost', true)).resolves.toMatchObject({ address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) });
  });
});

describe('webhook secrets stay out of the logs', () => {
  it('logs neither the secret nor the URL beyond its origin', async () => {
    const lines: string[] = [];
    const log = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const h = await createHarness('sqlite', { env: ALLOW_PRIVATE, clock: testClock(new Date()), log });
    const receiver = await startReceiver();
    try {
      receiver.answer(500);
      const admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
      const target = `${receiver.url}/t0k3n-in-the-path?sig=s3cr3t-in-the-query`;
      const created = await h.request(admin, { method: 'POST', url, payload: { url: target, events: ['access_key.created'] } });
      expect(created.statusCode, created.body).toBe(201);
      await h.key([{ role: 'global-viewer' }]);
      await h.ctx.webhookSender.deliverDue();
      expect(receiver.received).toHaveLength(1);
      const text = lines.join('');
      expect(text).toContain('webhook delivery failed, will retry');
      expect(text).not.toContain(created.json().secret.slice(6, 30));
      expect(text).not.toContain('t0k3n-in-the-path');
      expect(text).not.toContain('s3cr3t-in-the-query');
    } finally {
      await receiver.close();
      await h.close();
    }
  });
});

// Issue 17's lifecycle, announced: each change sends its event with the key as the API shows it
// right after the change (never its token), verified as a receiver would.
describe.each(DIALECTS)('access key lifecycle events (%s)', (dialect) => {
  const DAY = 24 * 60 * 60 * 1000;
  const realNow = new Date();
  let h: Harness;
  let admin: string;
  let receiver: Receiver;
  let secret: string;
  /** Created 31 days ago and never used: dormant under a 30-day policy. */
  let idle: { id: string; token: string };

  const api = (method: 'GET' | 'POST' | 'PATCH' | 'PUT', path: string, payload?: object) => h.request(admin, { method, url: path, payload });
  /** Sends what is queued; the events the receiver got, each verified with the webhook's secret. */
  const delivered = async () => {
    await h.ctx.webhookSender.deliverDue();
    const events = receiver.received.map(
      (request) => new StandardWebhook(secret).verify(request.body, request.headers as Record<string, string>) as { type: string; data: Record<string, unknown> },
    );
    const bodies = receiver.received.map((request) => request.body);
    receiver.received.length = 0;
    return { events, bodies };
  };
  const shown = async (id: string) => (await api('GET', `/api/v1/access-keys/${id}`)).json();

  beforeAll(async () => {
    // Receivers check `webhook-timestamp` against their own clock: only the idle key is made in
    // the past; everything else happens at the real time.
    h = await createHarness(dialect, { env: ALLOW_PRIVATE, clock: testClock(new Date(realNow.getTime() - 31 * DAY)) });
    const made = await h.key([{ role: 'global-viewer' }], { name: 'idle' });
    idle = { id: made.id, token: made.token };
    h.clock.set(realNow);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
    receiver = await startReceiver();
    const events = ['access_key.rolled', 'access_key.disabled', 'access_key.enabled', 'access_key.updated', 'access_key.expiring'];
    const hook = await api('POST', url, { url: receiver.url, events });
    expect(hook.statusCode, hook.body).toBe(201);
    secret = hook.json().secret;
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  it('sends access_key.rolled, .disabled, .enabled and .updated with the key as shown, without its token', async () => {
    const key = await h.key([{ role: 'global-viewer' }], { name: 'lifecycle' });
    const steps: Array<[string, () => Promise<{ shown: Record<string, unknown>; tokens: string[] }>]> = [
      [
        'access_key.rolled',
        async () => {
          const res = await api('POST', `/api/v1/access-keys/${key.id}/roll`, { graceMinutes: 5 });
          expect(res.statusCode, res.body).toBe(200);
          const { token, ...rolled } = res.json();
          expect(rolled.previousTokenExpiresAt).not.toBeNull();
          return { shown: rolled, tokens: [token, key.token] };
        },
      ],
      ['access_key.disabled', async () => ({ shown: (await api('PATCH', `/api/v1/access-keys/${key.id}`, { disabled: true })).json(), tokens: [] })],
      ['access_key.enabled', async () => ({ shown: (await api('PATCH', `/api/v1/access-keys/${key.id}`, { disabled: false })).json(), tokens: [] })],
      [
        'access_key.updated',
        async () => ({
          shown: (await api('PATCH', `/api/v1/access-keys/${key.id}`, { roles: [{ role: 'global-admin' }], description: 'nightly export' })).json(),
          tokens: [],
        }),
      ],
    ];
    const statuses: Record<string, string> = { 'access_key.disabled': 'disabled' };
    for (const [type, act] of steps) {
      const { shown: answered, tokens } = await act();
      expect(answered.status, type).toBe(statuses[type] ?? 'active');
      const { events, bodies } = await delivered();
      // One event per change (roles and description together are one edit).
      expect(
        events.map((e) => e.type),
        type,
      ).toEqual([type]);
      expect(events[0]!.data, type).toEqual(answered);
      expect(events[0]!.data, type).toEqual(await shown(key.id));
      for (const token of [...tokens, key.token]) expect(bodies[0], type).not.toContain(token.split('.')[2]);
      expect(Object.keys(events[0]!.data), type).not.toContain('token');
    }
    expect((await shown(key.id)).description).toBe('nightly export');
    // An edit that changes nothing announces nothing.
    expect((await api('PATCH', `/api/v1/access-keys/${key.id}`, { disabled: false, description: 'nightly export' })).statusCode).toBe(200);
    expect((await delivered()).events).toEqual([]);
  });

  it('a roll starts the expiry warnings again, even with the same expiry', async () => {
    const key = await h.key([{ role: 'global-viewer' }], { name: 'weekly', expiration: '7d' });
    const warned = async () => {
      await h.ctx.expiryWarnings.run();
      return (await delivered()).events.filter((e) => e.data['id'] === key.id).map((e) => [e.type, e.data['warningDays'] ?? null]);
    };
    expect(await warned()).toEqual([['access_key.expiring', 7]]);
    expect(await warned()).toEqual([]);
    const before = await shown(key.id);
    // The clock stands still: the rolled token expires when the old one did, so only the reset
    // (not a moved expiry) brings the warning back.
    const rolled = await api('POST', `/api/v1/access-keys/${key.id}/roll`, { expiration: '7d' });
    expect(rolled.json().expiresAt).toBe(before.expiresAt);
    expect((await delivered()).events.map((e) => e.type)).toEqual(['access_key.rolled']);
    expect(await warned()).toEqual([['access_key.expiring', 7]]);
    expect(await warned()).toEqual([]);
  });

  it('sends access_key.disabled for a key the dormancy job disables, once', async () => {
    const policy = { maxDays: { 'global-admin': null, 'global-viewer': null, 'cloud-account-viewer': null }, disableAfterUnusedDays: 30, requireDescription: false };
    expect((await api('PUT', '/api/v1/settings/access-key-policy', policy)).statusCode).toBe(200);
    try {
      expect(await h.ctx.scheduler.runNow(DORMANT_KEYS_JOB, { force: true })).toBe('ran');
      const { events, bodies } = await delivered();
      const key = await shown(idle.id);
      expect(key.status).toBe('disabled');
      // Only the idle key: the others were made (or rolled) just now.
      expect(events).toEqual([expect.objectContaining({ type: 'access_key.disabled', data: key })]);
      expect(bodies[0]).not.toContain(idle.token.split('.')[2]);
      await h.ctx.scheduler.runNow(DORMANT_KEYS_JOB, { force: true });
      expect((await delivered()).events).toEqual([]);
    } finally {
      await api('PUT', '/api/v1/settings/access-key-policy', { ...policy, disableAfterUnusedDays: null });
    }
  });
});
