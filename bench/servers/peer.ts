import SQLite from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';

/**
 * What the two peer servers share: their arguments, the routes they serve and how they
 * announce themselves.
 *
 *   argv[2]  the Tessera SQLite file whose cloud accounts they serve
 *   argv[3]  a work folder for their own database
 *   argv[4]  `auth` (every request authenticated) or `off` (the same server, the same routes,
 *            no authentication: what the route costs without it)
 *   argv[5]  how many distinct credentials to make for the cold runs
 */
export function peerArguments(script: string): { tesseraDb: string; workDir: string; authenticate: boolean; poolSize: number } {
  const [, , tesseraDb, workDir, mode, pool] = process.argv;
  if (tesseraDb === undefined || workDir === undefined || (mode !== 'auth' && mode !== 'off') || !(Number(pool) > 0))
    throw new Error(`usage: ${script} TESSERA_DB WORK_DIR auth|off POOL_SIZE`);
  return { tesseraDb, workDir, authenticate: mode === 'auth', poolSize: Number(pool) };
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
export function registerCloudAccountRoutes(app: FastifyInstance, databaseFile: string): void {
  const db = new SQLite(databaseFile, { readonly: true });
  const page = db.prepare('select * from cloud_accounts order by display_name asc, id asc limit ?');
  const byId = db.prepare('select * from cloud_accounts where id = ?');
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
}

/**
 * Listens on a free port of 127.0.0.1, then prints one JSON line: the port, the credential the
 * warm runs repeat (`token`) and the distinct ones the cold runs take in turn (`pool`).
 */
export async function listenAndAnnounce(app: FastifyInstance, credentials: { token: string; pool: readonly string[] }): Promise<void> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0, ...credentials })}\n`);
  process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
}
