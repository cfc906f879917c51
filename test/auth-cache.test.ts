import type { FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessKeyAuthenticator } from '../src/access-keys/access-key.auth.ts';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { createContext, type Context } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { BoundedCache } from '../src/util/bounded-cache.ts';
import { runCli } from './helpers/cli.ts';
import { DIALECTS } from './helpers/databases.ts';
import { settleChanges } from './helpers/feed.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { addAccount } from './helpers/inventory.ts';

const DAY = 24 * 60 * 60 * 1000;

// The verified-token cache and the key-state cache make a warm request cost no signature check
// and no SQL. These tests guard that they never answer with stale or foreign state: a key
// removed, edited or expired while cached is refused or re-scoped on the next request, whether
// the change came from this process, from another one, or from the CLI.
describe.each(DIALECTS)('access-key caches (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  let accountA: string;
  let accountB: string;
  /** A second Tessera process on the same database, as the CLI or another instance would be. */
  let other: Context;

  const accounts = (token: string) => h.request(token, { method: 'GET', url: '/api/v1/cloud-accounts' });
  const accountIds = async (token: string): Promise<string[]> => {
    const res = await accounts(token);
    expect(res.statusCode).toBe(200);
    return (res.json() as { items: Array<{ id: string }> }).items.map((a) => a.id).sort();
  };
  const expectRefused = async (token: string) => {
    const res = await accounts(token);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_token');
  };
  const settle = () => settleChanges(h);
  /** Warms both caches for a token and checks that the next request is answered from them alone. */
  const warm = async (token: string) => {
    await settle();
    expect((await accounts(token)).statusCode).toBe(200);
    const before = { ...h.ctx.accessKeyAuth.cacheStats };
    expect((await accounts(token)).statusCode).toBe(200);
    const after = h.ctx.accessKeyAuth.cacheStats;
    expect(after.tokenHits - before.tokenHits).toBe(1);
    expect(after.stateHits - before.stateHits).toBe(1);
    expect(after.stateMisses - before.stateMisses).toBe(0);
  };

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root', expiration: { days: 730 } })).token;
    accountA = (await addAccount(h, 'aws', 'Cache A')).id;
    accountB = (await addAccount(h, 'gcp', 'Cache B')).id;
    other = await createContext(h.config, createLogger(h.config), { clock: h.clock, listen: false });
  });
  afterAll(async () => {
    await other?.close();
    await h?.close();
  });

  it('answers a warm request from the caches, and a key removed in this process is refused on the next request', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await warm(key.token);
    const removed = await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${key.id}` });
    expect(removed.statusCode).toBe(204);
    await expectRefused(key.token);
    // And it stays refused: nothing re-admits it from a cache.
    await expectRefused(key.token);
  });

  it('re-scopes a key edited in this process on the next request, both ways', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await warm(key.token);
    expect(await accountIds(key.token)).toEqual([accountA, accountB].sort());
    const narrowed = await h.request(admin, {
      method: 'PATCH',
      url: `/api/v1/access-keys/${key.id}`,
      payload: { roles: [{ role: 'cloud-account-viewer', accounts: [accountA] }] },
    });
    expect(narrowed.statusCode).toBe(200);
    expect(await accountIds(key.token)).toEqual([accountA]);
    const outOfScope = await h.request(key.token, { method: 'GET', url: `/api/v1/cloud-accounts/${accountB}` });
    expect(outOfScope.statusCode).toBe(404);
    await h.request(admin, { method: 'PATCH', url: `/api/v1/access-keys/${key.id}`, payload: { roles: [{ role: 'global-viewer' }] } });
    expect(await accountIds(key.token)).toEqual([accountA, accountB].sort());
  });

  it('refuses a key that expires while cached on the first request after its expiry', async () => {
    const key = await h.key([{ role: 'global-viewer' }], { expiration: { days: 1 } });
    await warm(key.token);
    h.clock.advance(DAY - 1000);
    expect((await accounts(key.token)).statusCode).toBe(200);
    h.clock.advance(1000);
    await expectRefused(key.token);
    h.clock.advance(-DAY);
  });

  it('refuses a key removed by another process on the next request', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await warm(key.token);
    await other.accessKeys.remove(CLI_ACTOR, key.id);
    await settle();
    await expectRefused(key.token);
  });

  it('re-scopes a key edited by another process on the next request', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await warm(key.token);
    await other.accessKeys.editRoles(CLI_ACTOR, key.id, [{ role: 'cloud-account-viewer', accounts: [accountB] }]);
    await settle();
    expect(await accountIds(key.token)).toEqual([accountB]);
  });

  it('refuses a key removed with the real CLI (`tessera keys remove NAME`) on the next request', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await warm(key.token);
    const cli = await runCli(['keys', 'remove', key.name], h.env);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    await settle();
    await expectRefused(key.token);
  });

  it('re-scopes a key edited with the real CLI (`tessera keys edit NAME --role …`) on the next request', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    await warm(key.token);
    const cli = await runCli(['keys', 'edit', key.name, '--role', `cloud-account-viewer:${accountA}`], h.env);
    expect(cli.code).toBe(0);
    await settle();
    expect(await accountIds(key.token)).toEqual([accountA]);
  });

  it("never answers one token with another token's cached result", async () => {
    const wide = await h.key([{ role: 'global-viewer' }]);
    const narrow = await h.key([{ role: 'cloud-account-viewer', accounts: [accountB] }]);
    await warm(wide.token);
    await warm(narrow.token);
    // Interleaved, each token keeps its own key's rights.
    for (let i = 0; i < 3; i++) {
      expect(await accountIds(wide.token)).toEqual([accountA, accountB].sort());
      expect(await accountIds(narrow.token)).toEqual([accountB]);
    }
    // Near-copies of a cached token (same header and claims, altered signature; truncated;
    // extended) are verified on their own and refused.
    const [header, payload, signature] = wide.token.split('.') as [string, string, string];
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    for (const forged of [`${header}.${payload}.${flipped}`, wide.token.slice(0, -2), `${wide.token}AA`, `${header}.${payload}.${narrow.token.split('.')[2]}`]) {
      await expectRefused(forged);
    }
    // Removing one key leaves the other's cached entry intact, and the reverse.
    await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${narrow.id}` });
    await expectRefused(narrow.token);
    expect(await accountIds(wide.token)).toEqual([accountA, accountB].sort());
  });

  it('refuses the token of a removed key even after a new key takes its name', async () => {
    const old = await h.key([{ role: 'global-viewer' }], { name: 'reborn' });
    await warm(old.token);
    await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${old.id}` });
    const reborn = await h.key([{ role: 'global-viewer' }], { name: 'reborn' });
    await expectRefused(old.token);
    expect((await accounts(reborn.token)).statusCode).toBe(200);
  });

  it('reads a key never from a transaction still open, so an edit rolled back is never seen', async () => {
    const key = await h.key([{ role: 'global-viewer' }]);
    const cold = new AccessKeyAuthenticator(h.ctx.storage, h.ctx.tokens, h.ctx.changes, h.clock, { tokenCacheSize: 1, stateCacheSize: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const edit = h.ctx.storage.db.transaction().execute(async (trx) => {
      await trx.updateTable('access_keys').set({ disabled_at: h.clock().toISOString() }).where('id', '=', key.id).execute();
      await held;
      throw new Error('rolled back');
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    let settled = false;
    const checked = cold.check(key.token).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // PostgreSQL reads outside the transaction at once; SQLite's one connection waits for it to end.
    if (dialect === 'sqlite') expect(settled).toBe(false);
    release();
    await expect(edit).rejects.toThrow('rolled back');
    expect(await checked).toMatchObject({ ok: true, keyId: key.id });
  });

  it('answers a cold request on SQLite without a promise, and exactly as a warm one', async () => {
    const key = await h.key([{ role: 'cloud-account-viewer', accounts: [accountA] }]);
    const cold = new AccessKeyAuthenticator(h.ctx.storage, h.ctx.tokens, h.ctx.changes, h.clock, { tokenCacheSize: 1, stateCacheSize: 1 });
    const request = { ip: '127.0.0.1', headers: {} } as unknown as FastifyRequest;
    await cold.check(key.token); // the signing key loaded, as after a server's first request
    const other = await h.key([{ role: 'global-viewer' }]);
    // Caches of one: each token in turn evicts the other, so every request below is cold.
    const missesBefore = cold.cacheStats.tokenMisses;
    for (const token of [other.token, key.token, other.token]) {
      const result = cold.verify(token, request);
      // PostgreSQL's read is a network round trip: only SQLite's can be synchronous.
      expect(result instanceof Promise).toBe(dialect === 'postgres');
      const settled = await result;
      expect(settled).toMatchObject({ ok: true, principal: { id: token === key.token ? key.id : other.id } });
    }
    expect(cold.cacheStats.tokenMisses - missesBefore).toBe(3);
    const scope = (await cold.verify(key.token, request)) as { ok: true; principal: { scope: unknown } };
    expect(scope.principal.scope).toEqual({ all: false, ids: [accountA] });
    // A denial is synchronous too: a token of a key that no longer exists.
    await h.request(admin, { method: 'DELETE', url: `/api/v1/access-keys/${other.id}` });
    const removed = cold.verify(other.token, request);
    expect(removed instanceof Promise).toBe(dialect === 'postgres');
    expect(await removed).toMatchObject({ ok: false });
  });

  it('re-scopes a key when a cloud account it names is deleted', async () => {
    const doomed = await addAccount(h, 'azure', 'Cache doomed');
    const key = await h.key([{ role: 'cloud-account-viewer', accounts: [doomed.id, accountA] }]);
    await warm(key.token);
    expect(await accountIds(key.token)).toEqual([doomed.id, accountA].sort());
    const deleted = await h.request(admin, { method: 'DELETE', url: `/api/v1/cloud-accounts/${doomed.id}` });
    expect(deleted.statusCode).toBe(204);
    expect(await accountIds(key.token)).toEqual([accountA]);
  });
});

describe('BoundedCache', () => {
  it('never holds more than its capacity, dropping the oldest entry first', () => {
    const cache = new BoundedCache<string, number>(3);
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) cache.set(k, i);
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect([cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([1, 2, 3]);
    // Replacing a present key evicts nothing.
    cache.set('b', 10);
    expect(cache.size).toBe(3);
    expect(cache.get('c')).toBe(2);
  });

  it('refuses a capacity that is not a positive whole number', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new BoundedCache(bad)).toThrow(TypeError);
  });
});
