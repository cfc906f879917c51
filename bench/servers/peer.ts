import SQLite from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { listeningPort } from '../lib/processes.ts';

/**
 * What the two peer servers share: their arguments, the routes they serve and how they
 * announce themselves.
 *
 *   argv[2]  the Tessera SQLite file whose cloud accounts they serve
 *   argv[3]  a work folder for their own database
 *   argv[4]  how many distinct credentials to make for the cold runs
 */
export function peerArguments(script: string): { tesseraDb: string; workDir: string; poolSize: number } {
  const [, , tesseraDb, workDir, pool] = process.argv;
  if (tesseraDb === undefined || workDir === undefined || !(Number(pool) > 0)) throw new Error(`usage: ${script} TESSERA_DB WORK_DIR POOL_SIZE`);
  return { tesseraDb, workDir, poolSize: Number(pool) };
}

type Row = Record<string, string | null>;

const toCloudAccount = (row: Row) => ({
  id: row['id'],
  vendor: row['vendor'],
  displayName: row['display_name'],
  externalId: row['external_id'],
  status: row['status'],
  statusDetail: row['status_detail'],
  credentialId: row['credential_id'],
  createdAt: row['created_at'],
});

/**
 * The routes the peers serve, answering as Tessera's do, read from the same SQLite file with
 * prepared statements on every request (neither peer caches an answer), so that only
 * authentication differs:
 *
 *   GET /api/v1/cloud-accounts       the first page (display name then id, 50 a page or `?limit=`)
 *   GET /api/v1/cloud-accounts/:id   one account by primary key
 */
function cloudAccountRoutes(databaseFile: string): (app: FastifyInstance) => void {
  const db = new SQLite(databaseFile, { readonly: true });
  const page = db.prepare('select * from cloud_accounts order by display_name asc, id asc limit ?');
  const byId = db.prepare('select * from cloud_accounts where id = ?');
  return (app) => {
    app.get<{ Querystring: { limit?: string } }>('/api/v1/cloud-accounts', async (request) => {
      const limit = Math.min(Math.max(Number(request.query.limit ?? 50) || 50, 1), 200);
      const rows = page.all(limit + 1) as Row[];
      const last = rows[limit - 1];
      return {
        items: rows.slice(0, limit).map(toCloudAccount),
        nextCursor: rows.length > limit && last !== undefined ? Buffer.from(JSON.stringify([last['display_name'], last['id']])).toString('base64url') : null,
      };
    });
    app.get<{ Params: { id: string } }>('/api/v1/cloud-accounts/:id', async (request, reply) => {
      const row = byId.get(request.params.id) as Row | undefined;
      if (row === undefined) return reply.code(404).send({ error: 'not found' });
      return toCloudAccount(row);
    });
  };
}

/**
 * Serves the routes twice in this one process, each app on a free port of 127.0.0.1: once
 * behind `authenticate` (which adds the peer's authentication to its app and returns the
 * credential the warm runs repeat and the distinct ones the cold runs take in turn), once
 * without authentication. A process can run the same code faster or slower than another for
 * its whole life, so what authentication adds is measured between two apps of one process.
 * Prints one JSON line: `port`, `offPort`, `token`, `pool`.
 */
export async function servePeer(databaseFile: string, authenticate: (app: FastifyInstance) => Promise<{ token: string; pool: readonly string[] }>): Promise<void> {
  const routes = cloudAccountRoutes(databaseFile);
  const app = Fastify({ logger: false });
  const credentials = await authenticate(app);
  routes(app);
  const open = Fastify({ logger: false });
  routes(open);
  await app.listen({ host: '127.0.0.1', port: 0 });
  await open.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ port: listeningPort(app.server), offPort: listeningPort(open.server), ...credentials })}\n`);
  process.once('SIGTERM', () => void Promise.all([app.close(), open.close()]).finally(() => process.exit(0)));
}
