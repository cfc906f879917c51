import { createHash, generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEAK_REPORT_ANSWER_FLOOR_MS, LEAK_REPORTS_PER_WINDOW, LEAK_REPORT_WINDOW_MS } from '../src/access-keys/access-key-leaks.routes.ts';
import { MAX_LEAK_REPORT_TOKENS } from '../src/access-keys/access-key.service.ts';
import { ACCESS_KEY_PREFIX, TOKEN_TYPES } from '../src/auth/tokens.ts';
import { runCli } from './helpers/cli.ts';
import { DIALECTS } from './helpers/databases.ts';
import { settleChanges } from './helpers/feed.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { CLUSTER_METRICS_TOKEN, call, readKeyOn, type Instance } from './helpers/instances.ts';
import { useTwoInstances } from './helpers/two-instances.ts';
import { auditRows } from './helpers/people.ts';

const LEAKS = '/api/v1/access-keys/leaks';
const MINUTE = 60_000;

/** A JWT of another product, as a scanner would also find: HS256, `typ: JWT`. */
const foreignJwt = () =>
  new SignJWT({ sub: 'someone' }).setProtectedHeader({ typ: 'JWT', alg: 'HS256' }).setIssuedAt().sign(new TextEncoder().encode('another-product-secret-0123456789'));

// Issue 18 part 3: a format scanners can find, and a way to report a leak.
describe.each(DIALECTS)('leaked access keys (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let addresses = 0;
  /** Each test reports from an address of its own, so that none spends another's rate limit. */
  const nextAddress = () => `198.51.100.${++addresses}`;

  const api = (method: string, url: string, payload?: unknown, token = admin) =>
    h.request(token, { method: method as 'GET', url, ...(payload === undefined ? {} : { payload: payload as object }) });
  /** An admin-only read: 200 while `token` opens its key, 401 once refused. */
  const use = async (token: string) => (await api('GET', '/api/v1/access-keys?limit=1', undefined, token)).statusCode;
  const warm = async (token: string) => {
    await settleChanges(h);
    expect(await use(token)).toBe(200);
    expect(await use(token)).toBe(200);
  };
  const report = (body: unknown, remoteAddress = nextAddress(), headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'POST', url: LEAKS, payload: body as object, remoteAddress, headers });
  const createKey = async (name: string, body: Record<string, unknown> = {}) => {
    const res = await api('POST', '/api/v1/access-keys', { name, roles: [{ role: 'global-admin' }], ...body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; token: string };
  };
  const exists = async (id: string) => (await api('GET', `/api/v1/access-keys/${id}`)).statusCode === 200;

  beforeAll(async () => {
    h = await createHarness(dialect, { env: { TESSERA_TRUSTED_PROXIES: '10.0.0.0/8' } });
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root', expiration: { days: 730 } })).token;
  });
  afterAll(() => h?.close());

  describe('the fixed prefix', () => {
    it('starts every key minted by the API (create and roll) and by the CLI', async () => {
      const created = await createKey('prefixed-api');
      expect(created.token.startsWith(ACCESS_KEY_PREFIX)).toBe(true);
      const rolled = await api('POST', `/api/v1/access-keys/${created.id}/roll`, { graceMinutes: 0 });
      expect(rolled.statusCode, rolled.body).toBe(200);
      expect(rolled.json().token.startsWith(ACCESS_KEY_PREFIX)).toBe(true);
      const cli = await runCli(['keys', 'create', '--name', 'prefixed-cli', '--role', 'global-viewer', '--json'], h.env);
      expect(cli.code, cli.stderr).toBe(0);
      const token = JSON.parse(cli.stdout).token as string;
      expect(token.startsWith(ACCESS_KEY_PREFIX)).toBe(true);
      expect(await use(token)).toBe(403);
      // And the service's own (the harness's keys).
      expect(admin.startsWith(ACCESS_KEY_PREFIX)).toBe(true);
    });

    it('keeps keys minted before the prefix working until they are rolled, and they can be reported', async () => {
      // A key as the previous release minted it: the same claims, the header members as {alg, kid, typ}.
      const key = await createKey('minted-before-the-prefix');
      const { kid, privateKey } = h.ctx.signingKeys.current();
      const claims = JSON.parse(Buffer.from(key.token.split('.')[1]!, 'base64url').toString('utf8'));
      const legacy = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: TOKEN_TYPES.accessKey }).sign(privateKey);
      expect(legacy.startsWith(ACCESS_KEY_PREFIX)).toBe(false);
      const legacyHash = createHash('sha256').update(legacy).digest('hex');
      await h.ctx.storage.db.updateTable('access_keys').set({ token_hash: legacyHash }).where('id', '=', key.id).execute();
      await h.ctx.accessKeys.update({ name: 'test', ip: null }, key.id, { description: 'announces the change to every cache' });
      await warm(legacy);
      expect(await use(key.token)).toBe(401);
      // Rolling gives it a prefixed token; without grace the old one ends at once.
      const rolled = await api('POST', `/api/v1/access-keys/${key.id}/roll`, { graceMinutes: 0 });
      expect(rolled.json().token.startsWith(ACCESS_KEY_PREFIX)).toBe(true);
      expect(await use(legacy)).toBe(401);
      expect(await use(rolled.json().token)).toBe(200);

      // Another one, reported while still in the old format: revoked like any key.
      const other = await createKey('reported-before-the-prefix');
      const otherClaims = JSON.parse(Buffer.from(other.token.split('.')[1]!, 'base64url').toString('utf8'));
      const otherLegacy = await new SignJWT(otherClaims).setProtectedHeader({ alg: 'EdDSA', kid, typ: TOKEN_TYPES.accessKey }).sign(privateKey);
      await h.ctx.storage.db
        .updateTable('access_keys')
        .set({ token_hash: createHash('sha256').update(otherLegacy).digest('hex') })
        .where('id', '=', other.id)
        .execute();
      await h.ctx.accessKeys.update({ name: 'test', ip: null }, other.id, { description: 'announced' });
      await warm(otherLegacy);
      expect((await report({ tokens: [otherLegacy] })).statusCode).toBe(202);
      expect(await use(otherLegacy)).toBe(401);
      expect(await exists(other.id)).toBe(false);
    });
  });

  describe('POST /api/v1/access-keys/leaks', () => {
    it('revokes a live key at once (401 from the next request), audited as leaked with the source, the answer telling nothing', async () => {
      const key = await createKey('leaked-live');
      await warm(key.token);
      const res = await report({ tokens: [`  ${key.token}\n`], source: 'https://github.com/example/repo/blob/main/.env' });
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toEqual({ received: 1 });
      expect(await use(key.token)).toBe(401);
      expect(await exists(key.id)).toBe(false);
      const events = (await auditRows(h, { category: 'access-keys', action: 'leak' })).filter((e) => e.resource_id === key.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        actor: 'anonymous',
        resource: 'leaked-live',
        detail: { name: 'leaked-live', source: 'https://github.com/example/repo/blob/main/.env', token: 'current' },
      });
      // Nothing of the token, nor its hash, in the record.
      const text = JSON.stringify(await auditRows(h));
      expect(text).not.toContain(key.token.split('.')[2]);
      expect(text).not.toContain(createHash('sha256').update(key.token).digest('hex'));
      // The audit log's API lists it by its action.
      const listed = await api('GET', '/api/v1/audit-events?action=leak');
      expect(listed.statusCode, listed.body).toBe(200);
      expect(listed.json().items.map((e: { resourceId: string }) => e.resourceId)).toContain(key.id);
    });

    it('answers the same for garbage, other JWTs, forgeries and keys that are no longer live, revoking nothing', async () => {
      const bystander = await createKey('bystander');
      await warm(bystander.token);
      const removed = await createKey('already-removed');
      expect((await api('DELETE', `/api/v1/access-keys/${removed.id}`)).statusCode).toBe(204);
      const rolledAway = await createKey('rolled-away');
      const rolled = await api('POST', `/api/v1/access-keys/${rolledAway.id}/roll`, { graceMinutes: 0 });
      const forged = await new SignJWT(JSON.parse(Buffer.from(bystander.token.split('.')[1]!, 'base64url').toString('utf8')))
        .setProtectedHeader({ typ: TOKEN_TYPES.accessKey, alg: 'EdDSA', kid: h.ctx.signingKeys.current().kid })
        .sign(generateKeyPairSync('ed25519').privateKey);
      const notLive = ['not a token', '', await foreignJwt(), forged, bystander.token.slice(0, -3), removed.token, rolledAway.token, `${ACCESS_KEY_PREFIX}J9.e30.AAAA`];
      for (const tokens of [notLive, [notLive[0]!], notLive.slice(2)]) {
        const res = await report({ tokens, source: 'a scanner' });
        expect(res.statusCode, res.body).toBe(202);
        expect(res.json()).toEqual({ received: tokens.length });
      }
      expect(await use(bystander.token)).toBe(200);
      expect(await use(rolled.json().token)).toBe(200);
      expect((await auditRows(h, { action: 'leak' })).map((e) => e.resource)).not.toContain('bystander');
      expect((await auditRows(h, { action: 'leak' })).map((e) => e.resource)).not.toContain('rolled-away');
    });

    it('revokes the replaced token of a roll during its grace period, and a disabled key; revokes each key of a report once', async () => {
      const graced = await createKey('leaked-in-grace');
      const rolled = await api('POST', `/api/v1/access-keys/${graced.id}/roll`, { graceMinutes: 30 });
      const disabled = await createKey('leaked-while-disabled');
      expect((await api('PATCH', `/api/v1/access-keys/${disabled.id}`, { disabled: true })).statusCode).toBe(200);
      await warm(rolled.json().token);
      const res = await report({ tokens: [graced.token, graced.token, 'noise', disabled.token], source: null });
      expect(res.json()).toEqual({ received: 4 });
      expect(await use(rolled.json().token)).toBe(401);
      expect(await exists(graced.id)).toBe(false);
      expect(await exists(disabled.id)).toBe(false);
      const events = await auditRows(h, { action: 'leak' });
      expect(events.filter((e) => e.resource_id === graced.id).map((e) => e.detail)).toEqual([{ name: 'leaked-in-grace', source: null, token: 'previous' }]);
      expect(events.filter((e) => e.resource_id === disabled.id)).toHaveLength(1);
    });

    it('leaves a key alone when the reported token is one a roll replaced and its grace period has ended', async () => {
      const key = await createKey('grace-over');
      const rolled = await api('POST', `/api/v1/access-keys/${key.id}/roll`, { graceMinutes: 5 });
      h.clock.advance(6 * MINUTE);
      try {
        expect((await report({ tokens: [key.token] })).statusCode).toBe(202);
        expect(await exists(key.id)).toBe(true);
        expect(await use(rolled.json().token)).toBe(200);
      } finally {
        h.clock.advance(-6 * MINUTE);
      }
    });

    it('takes as long for dead tokens as for a live key: no answer before the floor, and no early exit', async () => {
      const time = async (tokens: string[]) => {
        const started = performance.now();
        const res = await report({ tokens });
        expect(res.statusCode).toBe(202);
        return performance.now() - started;
      };
      const live: number[] = [];
      const dead: number[] = [];
      for (let i = 0; i < 3; i++) {
        const key = await createKey(`timed-${i}`);
        live.push(await time(['garbage', key.token]));
        dead.push(await time(['garbage', key.token]));
      }
      for (const ms of [...live, ...dead]) expect(ms).toBeGreaterThanOrEqual(LEAK_REPORT_ANSWER_FLOOR_MS - 1);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
      expect(Math.abs(median(live) - median(dead))).toBeLessThan(LEAK_REPORT_ANSWER_FLOOR_MS / 2);
    });

    it('refuses a malformed report with 400 naming the field', async () => {
      const cases: Array<[unknown, string]> = [
        [{}, '/tokens'],
        [{ tokens: 'eyJ' }, '/tokens'],
        [{ tokens: [] }, '/tokens'],
        [{ tokens: Array.from({ length: MAX_LEAK_REPORT_TOKENS + 1 }, () => 'x') }, '/tokens'],
        [{ tokens: ['x'.repeat(4097)] }, '/tokens/0'],
        [{ tokens: [42] }, '/tokens/0'],
        [{ tokens: ['ok', 'nul\u0000inside'] }, '/tokens/1'],
        [{ tokens: ['x'], source: 'line\nbreak' }, '/source'],
        [{ tokens: ['x'], source: 's'.repeat(301) }, '/source'],
        [{ tokens: ['x'], extra: true }, '/extra'],
      ];
      for (const [body, pointer] of cases) {
        const res = await report(body);
        expect(res.statusCode, `${JSON.stringify(body).slice(0, 80)}: ${res.body}`).toBe(400);
        expect(res.json().code).toBe('validation_failed');
        expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
      }
      // A full report of real-length tokens fits the body limit (distinct ones, each with a wrong signature).
      const full = await report({ tokens: Array.from({ length: MAX_LEAK_REPORT_TOKENS }, (_, i) => `${admin.slice(0, -8)}${String(i).padStart(4, '0')}AAAA`) });
      expect(full.statusCode, full.body).toBe(202);
      expect(await use(admin)).toBe(200);
    });

    it('is rate limited per client address (behind a trusted proxy, the forwarded one), with Retry-After', async () => {
      const address = '203.0.113.7';
      const answers = await Promise.all(Array.from({ length: LEAK_REPORTS_PER_WINDOW }, () => report({ tokens: ['x'] }, '10.1.2.3', { 'x-forwarded-for': address })));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(LEAK_REPORTS_PER_WINDOW).fill(202));
      const over = await report({ tokens: ['x'] }, '10.1.2.3', { 'x-forwarded-for': address });
      expect(over.statusCode).toBe(429);
      expect(over.json().code).toBe('too_many_requests');
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      // The same address without the proxy, and the proxy for another client, are others.
      expect((await report({ tokens: ['x'] }, address)).statusCode).toBe(429);
      expect((await report({ tokens: ['x'] }, '10.1.2.3', { 'x-forwarded-for': '203.0.113.8' })).statusCode).toBe(202);
      // An untrusted peer's X-Forwarded-For is not believed: it is counted as itself.
      expect((await report({ tokens: ['x'] }, '192.0.2.50', { 'x-forwarded-for': address })).statusCode).toBe(202);
      // Over the limit, a live key in the report is not looked at.
      const key = await createKey('reported-over-the-limit');
      expect((await report({ tokens: [key.token] }, address)).statusCode).toBe(429);
      expect(await use(key.token)).toBe(200);
      h.clock.advance(LEAK_REPORT_WINDOW_MS);
      try {
        expect((await report({ tokens: [key.token] }, address)).statusCode).toBe(202);
        expect(await use(key.token)).toBe(401);
      } finally {
        h.clock.advance(-LEAK_REPORT_WINDOW_MS);
      }
    });

    it('is public: no credentials needed, and a bad one is not looked at', async () => {
      const key = await createKey('reported-with-a-bad-bearer');
      const res = await h.app.inject({
        method: 'POST',
        url: LEAKS,
        payload: { tokens: [key.token] },
        remoteAddress: nextAddress(),
        headers: { authorization: 'Bearer nonsense' },
      });
      expect(res.statusCode, res.body).toBe(202);
      expect(await use(key.token)).toBe(401);
    });
  });
});

/**
 * Two real instances on one PostgreSQL: a report made to A revokes the key on B before A
 * answers (the revocation is access-reducing: acknowledged by every live instance).
 */
describe.runIf(DIALECTS.includes('postgres'))('a leak reported to one instance (postgres, two instances)', () => {
  const two = useTwoInstances('leak-admin');

  /** Access-reducing writes of this instance that every other live instance acknowledged. */
  const confirmedOn = async (on: Instance) => {
    const text = (await call(on.url, 'GET', '/metrics', CLUSTER_METRICS_TOKEN)).body;
    return Number(/^tessera_change_acknowledgements_total\{outcome="confirmed"\} (\d+)/m.exec(text)?.[1] ?? 0);
  };

  it('is refused on the other instance from the first request after the answer', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const key = JSON.parse(await two.cluster.cli(['keys', 'create', '--name', `leaked-${trial}`, '--role', 'global-admin', '--json'])) as { id: string; token: string };
      expect(key.token.startsWith(ACCESS_KEY_PREFIX)).toBe(true);
      // B answers from its caches from now on.
      expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(200);
      expect((await readKeyOn(two.b, key.token, key.id)).status).toBe(200);
      const confirmedBefore = await confirmedOn(two.a);
      const res = await call(two.a.url, 'POST', LEAKS, undefined, { tokens: ['noise', key.token], source: `trial ${trial}` });
      expect(res.status, res.body).toBe(202);
      // A waited for B's acknowledgement of the removal (not only for the answer's floor).
      expect(await confirmedOn(two.a)).toBe(confirmedBefore + 1);
      expect(res.json()).toEqual({ received: 2 });
      const onB = await readKeyOn(two.b, key.token, key.id);
      expect(onB.status, onB.body).toBe(401);
      expect((await readKeyOn(two.a, key.token, key.id)).status).toBe(401);
    }
    const events = await call(two.b.url, 'GET', '/api/v1/audit-events?action=leak', two.admin);
    expect(
      events
        .json()
        .items.map((e: { detail: { source: string } }) => e.detail.source)
        .sort(),
    ).toEqual(['trial 0', 'trial 1', 'trial 2', 'trial 3', 'trial 4']);
  }, 120_000);
});
