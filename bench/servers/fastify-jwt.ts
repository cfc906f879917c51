/**
 * Peer: the typical stack. Fastify + @fastify/jwt (EdDSA, pinned algorithm, issuer and
 * audience) + one SQL revocation lookup per request (better-sqlite3, indexed by jti).
 * argv[2] = the Tessera SQLite file whose cloud accounts it lists; argv[3] = a work folder.
 * Prints `{ "port": N, "token": "…" }` when listening.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fastifyJwt from '@fastify/jwt';
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import { cloudAccountPage } from './peer-list.ts';

const [, , tesseraDb, workDir] = process.argv;
if (tesseraDb === undefined || workDir === undefined) throw new Error('usage: fastify-jwt.ts TESSERA_DB WORK_DIR');
const list = cloudAccountPage(tesseraDb);

const db = new SQLite(join(workDir, 'fastify-jwt.db'));
db.pragma('journal_mode = WAL');
db.exec('create table if not exists api_keys (jti text primary key, revoked integer not null default 0)');
const insert = db.prepare('insert into api_keys (jti) values (?)');
const jtis: string[] = [];
db.transaction(() => {
  for (let i = 0; i < 10_000; i++) {
    const jti = randomUUID();
    jtis.push(jti);
    insert.run(jti);
  }
})();
const revoked = db.prepare('select revoked from api_keys where jti = ?').pluck();

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const app = Fastify({ logger: false });
await app.register(fastifyJwt, {
  secret: { private: privateKey.export({ type: 'pkcs8', format: 'pem' }), public: publicKey.export({ type: 'spki', format: 'pem' }) },
  sign: { algorithm: 'EdDSA', iss: 'http://bench.test', aud: 'bench-api', expiresIn: '1y' },
  verify: { algorithms: ['EdDSA'], allowedIss: 'http://bench.test', allowedAud: 'bench-api' },
});
app.addHook('onRequest', async (request, reply) => {
  try {
    const claims = await request.jwtVerify<{ jti?: string }>();
    if (typeof claims.jti !== 'string' || revoked.get(claims.jti) !== 0) return reply.code(401).send({ error: 'revoked' });
  } catch {
    return reply.code(401).send({ error: 'invalid token' });
  }
});
app.get<{ Querystring: { limit?: string } }>('/api/v1/cloud-accounts', async (request) => list(request.query.limit));
await app.listen({ host: '127.0.0.1', port: 0 });
const token = app.jwt.sign({ sub: 'bench-viewer', jti: jtis[0] });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0, token })}\n`);
process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
