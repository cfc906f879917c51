import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { CHANGE_KINDS, EVERYTHING_CHANGED, readNotice, type Change, type ChangeKind } from '../src/changes/change.ts';
import { createContext, type Context } from '../src/context.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const silent = pino({ level: 'silent' });

/** What a subscription heard, and its unsubscribe. */
function listen(context: Context, kinds: readonly ChangeKind[] | 'all') {
  const heard: Change[] = [];
  const off = context.changes.subscribe(kinds, (change) => void heard.push(change));
  return { heard, off };
}

/**
 * The change bus's contract: a change a unit of work announces reaches, once committed, every
 * subscriber of its kind in this process (before the writer answers) and in every other process
 * (PostgreSQL: the change itself, by LISTEN; SQLite: "everything changed", at the next `sync`),
 * and nothing of a unit that failed does.
 */
describe.each(DIALECTS)('change bus (%s)', (dialect) => {
  let h: Harness;
  /** A second server process on the same database: it listens, and writers wait for it. */
  let other: Context;
  let run = 0;
  beforeAll(async () => {
    h = await createHarness(dialect);
    other = await createContext(h.config, silent);
  });
  afterAll(async () => {
    await other.close();
    await h.close();
  });

  /** Announces `changes` in one unit of work of `context`, which writes (as every unit does): its audit entry. */
  const announce = (context: Context, changes: Change[], options: { reducesAccess?: boolean; fail?: boolean } = {}) =>
    context.transactions.run(
      CLI_ACTOR,
      async (work) => {
        work.audit({ category: 'users', resource: 'change-bus-test', resourceId: null, action: 'edit', detail: { changes: changes.length } });
        for (const change of changes) work.announce(change);
        if (options.fail) throw new Error('the unit fails');
      },
      { reducesAccess: options.reducesAccess },
    );

  it('delivers a committed change here before the writer answers, to subscribers of its kind only, and nothing of a failed unit', async () => {
    const id = `local-${dialect}-${++run}`;
    const users = listen(h.ctx, ['user']);
    const keys = listen(h.ctx, ['access-key', 'cloud-account']);
    const all = listen(h.ctx, 'all');
    try {
      await announce(h.ctx, [{ kind: 'user', id }]);
      // (On PostgreSQL this process's LISTEN hears the change again later: count only what came first.)
      const mine = (heard: Change[]) => heard.filter((change) => change.id.startsWith(id));
      expect(mine(users.heard)[0]).toEqual({ kind: 'user', id });
      expect(mine(all.heard)[0]).toEqual({ kind: 'user', id });
      expect(mine(keys.heard)).toEqual([]);
      await expect(announce(h.ctx, [{ kind: 'user', id: `${id}-failed` }], { fail: true })).rejects.toThrow('the unit fails');
      expect(mine(all.heard).filter((change) => change.id !== id)).toEqual([]);
      // "Everything changed" reaches every subscription, whatever its kinds.
      h.ctx.changes.publish(EVERYTHING_CHANGED);
      expect(keys.heard).toContainEqual(EVERYTHING_CHANGED);
      expect(users.heard).toContainEqual(EVERYTHING_CHANGED);
      keys.off();
      h.ctx.changes.publish({ kind: 'access-key', id: `${id}-after-off` });
      expect(mine(keys.heard)).toEqual([]);
    } finally {
      users.off();
      keys.off();
      all.off();
    }
  });

  it.runIf(dialect === 'postgres')('delivers every kind published in one process to the subscribers of that kind in another, and only those', async () => {
    const id = `remote-${++run}`;
    const byKind = new Map(CHANGE_KINDS.map((kind) => [kind, listen(other, [kind])]));
    const mine = (heard: Change[]) => heard.filter((change) => change.id.startsWith(id));
    try {
      await announce(
        h.ctx,
        CHANGE_KINDS.map((kind) => ({ kind, id: `${id}-${kind}` })),
      );
      for (const [kind, { heard }] of byKind) {
        await vi.waitFor(() => expect(mine(heard)).toEqual([{ kind, id: `${id}-${kind}` }]), { timeout: 2000, interval: 2 });
      }
      // A failed unit sent nothing: a later unit's change arrives alone.
      await expect(announce(h.ctx, [{ kind: 'user', id: `${id}-failed` }], { fail: true })).rejects.toThrow('the unit fails');
      await announce(h.ctx, [{ kind: 'user', id: `${id}-last` }]);
      const users = byKind.get('user')!.heard;
      await vi.waitFor(() => expect(mine(users)).toContainEqual({ kind: 'user', id: `${id}-last` }), { timeout: 2000, interval: 2 });
      expect(mine(users).map((change) => change.id)).toEqual([`${id}-user`, `${id}-last`]);
    } finally {
      for (const { off } of byKind.values()) off();
    }
  });

  it.runIf(dialect === 'postgres')('answers an access-reducing unit only once the other process has delivered its change', async () => {
    const remote = listen(other, ['access-key']);
    try {
      for (let n = 0; n < 5; n++) {
        const change: Change = { kind: 'access-key', id: `acknowledged-${++run}` };
        await announce(h.ctx, [{ kind: 'user', id: `${change.id}-first` }, change], { reducesAccess: true });
        // No waiting here: the writer's answer came after the other process applied it.
        expect(remote.heard).toContainEqual(change);
      }
      expect(h.ctx.changes.acknowledgements?.stats.timedOut).toBe(0);
    } finally {
      remote.off();
    }
  });

  it.runIf(dialect === 'sqlite')("shows another process's commit as everything changed, at the next sync", async () => {
    const remote = listen(other, ['signing-key']);
    try {
      other.changes.sync();
      remote.heard.length = 0;
      await announce(h.ctx, [{ kind: 'user', id: `sqlite-${++run}` }]);
      expect(remote.heard).toEqual([]);
      other.changes.sync();
      expect(remote.heard).toEqual([EVERYTHING_CHANGED]);
      // Once per commit seen, not once per sync.
      other.changes.sync();
      expect(remote.heard).toEqual([EVERYTHING_CHANGED]);
    } finally {
      remote.off();
    }
  });
});

describe('change notices', () => {
  it('read back every kind with its change number and time', () => {
    for (const kind of CHANGE_KINDS) {
      expect(readNotice(JSON.stringify({ kind, id: 'x', at: 5, seq: 7 }))).toEqual({ change: { kind, id: 'x' }, at: 5, seq: 7 });
    }
  });

  it('read as everything changed when the kind is unknown or the payload unreadable (a change number still counts)', () => {
    for (const payload of ['{"kind":"drop-tables","id":"x","seq":3}', 'null', '42', '"user"', '[]', '{"kind":"user"}', '{"kind":"user","id":1}', 'not json']) {
      const notice = readNotice(payload);
      expect(notice.change).toEqual(EVERYTHING_CHANGED);
      if (payload.includes('seq')) expect(notice.seq).toBe(3);
    }
  });
});
