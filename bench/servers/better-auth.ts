/**
 * Peer: better-auth with its API-key plugin, verifying the key on every request
 * (`auth.api.verifyApiKey`), on SQLite (better-sqlite3) in a work folder. The plugin's
 * default per-key rate limit (10 a day) is switched off, as any service under load would.
 * argv[2] = the Tessera SQLite file whose cloud accounts it lists; argv[3] = a work folder.
 * Prints `{ "port": N, "token": "…" }` when listening.
 */
import { join } from 'node:path';
import { apiKey } from '@better-auth/api-key';
import SQLite from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import Fastify from 'fastify';
import { cloudAccountPage } from './peer-list.ts';

const [, , tesseraDb, workDir] = process.argv;
if (tesseraDb === undefined || workDir === undefined) throw new Error('usage: better-auth.ts TESSERA_DB WORK_DIR');
const list = cloudAccountPage(tesseraDb);

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
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
const { user } = await auth.api.signUpEmail({ body: { email: 'bench@example.test', password: 'bench-password-123', name: 'Bench' } });
const created = await auth.api.createApiKey({ body: { userId: user.id, name: 'bench-viewer' } });

const app = Fastify({ logger: false });
app.addHook('onRequest', async (request, reply) => {
  const header = request.headers.authorization;
  const key = header?.startsWith('Bearer ') === true ? header.slice(7) : undefined;
  if (key === undefined) return reply.code(401).send({ error: 'no key' });
  const result = await auth.api.verifyApiKey({ body: { key } });
  if (!result.valid) return reply.code(401).send({ error: 'invalid key' });
});
app.get<{ Querystring: { limit?: string } }>('/api/v1/cloud-accounts', async (request) => list(request.query.limit));
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0, token: created.key })}\n`);
process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
