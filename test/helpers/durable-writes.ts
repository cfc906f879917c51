/**
 * A child process for test/durability.test.ts (run under strace, which counts its fsync and
 * fdatasync calls): opens the SQLite data folder in TESSERA_DATA_DIR and makes `count` writes
 * of one kind, each its own unit of work, awaited one by one (so each commits on its own).
 *
 *   node --import tsx test/helpers/durable-writes.ts <create|remove|edit> <count> <prefix>
 *
 * `create` adds keys named <prefix>-0…; `remove` and `edit` (a role reduction) act on them.
 */
import { loadConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/http/logging.ts';

const [mode, countText, prefix] = process.argv.slice(2);
const count = Number(countText);
if (!['create', 'remove', 'edit'].includes(mode ?? '') || !Number.isInteger(count) || prefix === undefined) {
  throw new TypeError('usage: durable-writes.ts <create|remove|edit> <count> <prefix>');
}
const actor = { name: 'durability-test', ip: null };
const ctx = await createContext(loadConfig(), createLogger({ logLevel: 'warn' }), { listen: false });
try {
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}`;
    if (mode === 'create') await ctx.accessKeys.create(actor, { name, roles: [{ role: 'global-admin' }] });
    else {
      const key = await ctx.accessKeys.getByName(name);
      if (mode === 'remove') await ctx.accessKeys.remove(actor, key.id);
      else await ctx.accessKeys.editRoles(actor, key.id, [{ role: 'global-viewer' }]);
    }
  }
} finally {
  await ctx.close();
}
