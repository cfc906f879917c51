/**
 * Fills a Tessera database with benchmark data: `npm run bench:generate -- [options]`.
 *
 *   --keys N       API keys in total (default 1,000,000)
 *   --accounts N   cloud accounts in total (default 100)
 *   --assets N     assets in total (default 100,000)
 *   --tokens N     keys with real signed tokens, written to --out (default 0)
 *   --out FILE     where to write the bench keys and token pool as JSON
 *
 * The database is the configured one (TESSERA_DATA_DIR, or DATABASE_URL for PostgreSQL),
 * exactly as `tessera serve` would open it; it tops up what is there.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { generate } from './lib/generate.ts';
import { fmt } from './lib/progress.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    accounts: { type: 'string', default: '100' },
    assets: { type: 'string', default: '100000' },
    tokens: { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
const whole = (name: string, value: string): number => {
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a whole number`);
  return Number(value);
};

const config = loadConfig();
const ctx = await createContext(config, createLogger({ logLevel: 'warn' }), { listen: false });
try {
  const { keys, report } = await generate(ctx, {
    keys: whole('keys', values.keys),
    accounts: whole('accounts', values.accounts),
    assets: whole('assets', values.assets),
    tokenPool: whole('tokens', values.tokens),
  });
  console.log(
    `${ctx.storage.dialect}: added ${fmt(report.keysAdded)} keys (${fmt(Math.round(report.keysPerSecond))}/s), ${fmt(report.accountsAdded)} accounts, ${fmt(report.assetsAdded)} assets in ${report.seconds.toFixed(1)} s`,
  );
  if (values.out !== undefined) {
    writeFileSync(values.out, JSON.stringify(keys), { mode: 0o600 });
    console.log(`bench keys and ${fmt(keys.pool.length)} pool tokens written to ${values.out}`);
  }
} finally {
  await ctx.close();
}
