/**
 * Peer: the typical stack. Fastify + @fastify/jwt (EdDSA, pinned algorithm, issuer and
 * audience; its defaults otherwise, so no cache of verified tokens) + one SQL revocation
 * lookup per request (better-sqlite3, indexed by jti). Arguments and routes: ./peer.ts. One
 * token for the warm runs and a pool of tokens with distinct jtis for the cold ones, signed
 * at start.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fastifyJwt from '@fastify/jwt';
import SQLite from 'better-sqlite3';
import { peerArguments, servePeer } from './peer.ts';

const { tesseraDb, workDir, poolSize } = peerArguments('fastify-jwt.ts');

const db = new SQLite(join(workDir, 'fastify-jwt.db'));
db.pragma('journal_mode = WAL');
db.exec('create table if not exists api_keys (jti text primary key, revoked integer not null default 0)');
const insert = db.prepare('insert into api_keys (jti) values (?)');
const jtis: string[] = [];
db.transaction(() => {
  for (let i = 0; i <= poolSize; i++) {
    const jti = randomUUID();
    jtis.push(jti);
    insert.run(jti);
  }
})();
const revoked = db.prepare('select revoked from api_keys where jti = ?').pluck();

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
await servePeer(tesseraDb, async (app) => {
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
  const [token, ...pool] = jtis.map((jti, i) => app.jwt.sign({ sub: `bench-key-${i}`, jti }));
  return { token: token!, pool };
});
