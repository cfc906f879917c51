/**
 * Target (f): plain Fastify 5 sending Tessera's own answer. At start it asks a running Tessera
 * for one answer (GET argv[2], with `Authorization: Bearer $BENCH_TOKEN` when set) and then
 * serves that answer's bytes at the same path, with the same headers (but those Node and
 * Fastify set per response: date, connection, keep-alive, content-length; and x-request-id,
 * which is the request's own id here too). No hook, no log line, no schema: what the same
 * bytes cost on Fastify itself.
 *
 * Prints one JSON line `{ "port": N }` when listening; stops on SIGTERM.
 */
import Fastify from 'fastify';
import { listeningPort } from '../lib/processes.ts';

const source = process.argv[2];
if (source === undefined) throw new Error('usage: plain.ts URL (the Tessera answer to serve)');
const token = process.env['BENCH_TOKEN'];
const answer = await fetch(source, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
if (answer.status !== 200) throw new Error(`${source} answered ${answer.status}`);
const body = Buffer.from(await answer.arrayBuffer());
const PER_RESPONSE = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'x-request-id']);
const headers: Record<string, string> = {};
for (const [name, value] of answer.headers) if (!PER_RESPONSE.has(name)) headers[name] = value;

const app = Fastify({ logger: false });
app.get(new URL(source).pathname, (request, reply) => {
  reply.headers(headers).header('x-request-id', request.id).send(body);
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: listeningPort(app.server), headers: Object.keys(headers) })}\n`);
process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
