/**
 * Peer: better-auth with its API-key plugin, verifying the key on every request
 * (`auth.api.verifyApiKey`), on SQLite (better-sqlite3) in the work folder. The plugin's
 * default per-key rate limit (10 a day) is switched off, as any service under load would.
 * Arguments and routes: ./peer.ts. The user and its keys (one for the warm runs, a pool for
 * the cold ones) are made through the API once per work folder and kept in `keys.json`:
 * thousands of keys take seconds to make, so the benchmark makes them once and copies the
 * folder for each server.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiKey } from '@better-auth/api-key';
import SQLite from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { peerArguments, servePeer } from './peer.ts';

const { tesseraDb, workDir, poolSize } = peerArguments('better-auth.ts');

const database = new SQLite(join(workDir, 'better-auth.db'));
database.pragma('journal_mode = WAL');
const auth = betterAuth({
  database,
  secret: 'bench-secret-bench-secret-bench-secret-0123',
  baseURL: 'http://127.0.0.1',
  emailAndPassword: { enabled: true },
  telemetry: { enabled: false },
  logger: { disabled: true },
  plugins: [apiKey({ rateLimit: { enabled: false } })],
});
const keysFile = join(workDir, 'keys.json');
if (!existsSync(keysFile)) {
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
  const { user } = await auth.api.signUpEmail({ body: { email: 'bench@example.test', password: 'bench-password-123', name: 'Bench' } });
  const make = async (name: string) => (await auth.api.createApiKey({ body: { userId: user.id, name } })).key;
  const token = await make('bench-viewer');
  const pool: string[] = [];
  for (let i = 0; i < poolSize; i++) pool.push(await make(`bench-pool-${i}`));
  writeFileSync(keysFile, JSON.stringify({ token, pool }));
}
const credentials = JSON.parse(readFileSync(keysFile, 'utf8')) as { token: string; pool: string[] };
if (credentials.pool.length < poolSize) throw new Error(`${keysFile} holds ${credentials.pool.length} keys, ${poolSize} asked for`);

await servePeer(tesseraDb, async (app) => {
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    const key = header?.startsWith('Bearer ') === true ? header.slice(7) : undefined;
    if (key === undefined) return reply.code(401).send({ error: 'no key' });
    const result = await auth.api.verifyApiKey({ body: { key } });
    if (!result.valid) return reply.code(401).send({ error: 'invalid key' });
  });
  return { token: credentials.token, pool: credentials.pool.slice(0, poolSize) };
});
