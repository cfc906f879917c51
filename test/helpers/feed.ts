import { sql } from 'kysely';
import { CHANGE_CHANNEL } from '../../src/changes/change.ts';
import type { Harness } from './harness.ts';

let markers = 0;

/**
 * Returns once the harness's process has heard every change committed so far by any process.
 * SQLite hears them on the next request (PRAGMA data_version, checked before authenticating):
 * nothing to wait for. PostgreSQL hears them by LISTEN/NOTIFY, asynchronously and in commit
 * order, so a marker notified now and heard means everything before it was heard (this
 * process's own changes come back that way too, each dropping cached state once more).
 */
export async function settleChanges(h: Harness): Promise<void> {
  if (h.ctx.storage.dialect === 'sqlite') return;
  const id = `settle-${++markers}`;
  let off = () => {};
  const seen = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the change feed never delivered the marker')), 10_000);
    off = h.ctx.changes.subscribe('all', (change) => {
      if (change.id === id) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await sql`select pg_notify(${CHANGE_CHANNEL}, ${JSON.stringify({ kind: 'user', id })})`.execute(h.ctx.storage.db);
  await seen.finally(off);
}
