import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ACCESS_KEY_PREFIX, MAX_TOKEN_LENGTH } from '../auth/tokens.ts';
import type { Context } from '../context.ts';
import { AppError } from '../http/errors.ts';
import { problems } from '../http/schemas.ts';
import { clientNetwork } from '../sessions/sign-in.service.ts';
import { LEAK_SOURCE_MAX_LENGTH, MAX_LEAK_REPORT_TOKENS } from './access-key.service.ts';

/** Leak reports accepted per client network (an IPv4 address, an IPv6 /64) and window. */
export const LEAK_REPORTS_PER_WINDOW = 30;
export const LEAK_REPORT_WINDOW_MS = 60_000;
/**
 * No answer leaves sooner than this after the request was read: revoking a live key (a commit
 * that every instance acknowledges) takes a few milliseconds that a report of dead tokens does
 * not, and the time of the answer must not tell which it was.
 */
export const LEAK_REPORT_ANSWER_FLOOR_MS = 250;

/** Every token a report may hold fits, with room for the JSON around it and the source. */
const BODY_LIMIT = MAX_LEAK_REPORT_TOKENS * (MAX_TOKEN_LENGTH + 3) + 16 * 1024;

const LeakReportBody = Type.Object(
  {
    tokens: Type.Array(Type.String({ maxLength: MAX_TOKEN_LENGTH }), {
      minItems: 1,
      maxItems: MAX_LEAK_REPORT_TOKENS,
      description: `The texts found (1–${MAX_LEAK_REPORT_TOKENS}, each at most ${MAX_TOKEN_LENGTH} characters; surrounding white space is ignored). Anything may be sent: each that is a live key of this Tessera is revoked, the rest are ignored.`,
    }),
    source: Type.Optional(
      Type.Union([Type.String({ maxLength: LEAK_SOURCE_MAX_LENGTH * 4 }), Type.Null()], {
        description: `Where they were found (a URL, a scanner's name): at most ${LEAK_SOURCE_MAX_LENGTH} characters once trimmed, no control or invisible characters. Kept in the audit record.`,
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ tokens: [`${ACCESS_KEY_PREFIX}J…`], source: 'https://github.com/example/repo/blob/main/.env' }],
  },
);

const Received = Type.Object(
  { received: Type.Integer({ description: 'How many tokens the report held: the same answer whether any was a live key or not.' }) },
  { examples: [{ received: 1 }] },
);

/** `POST /api/v1/access-keys/leaks`: public, so that a secret scanner or a finder can report a key. */
export const accessKeyLeakRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.post(
    '/',
    {
      config: { access: 'public' },
      bodyLimit: BODY_LIMIT,
      // Counted before the body is read, so a flood costs no parsing.
      onRequest: async (request) => {
        const window = await ctx.rateLimiter.increment(`leak-report:${clientNetwork(request.ip)}`, LEAK_REPORT_WINDOW_MS);
        if (window.count <= LEAK_REPORTS_PER_WINDOW) return;
        const seconds = Math.max(1, Math.ceil((window.resetAt - ctx.clock().getTime()) / 1000));
        throw new AppError('too_many_requests', `Too many leak reports from this address. Try again in ${seconds} seconds.`, {
          headers: { 'retry-after': String(seconds) },
        });
      },
      schema: {
        tags: ['API access keys'],
        summary: 'Report leaked API access keys',
        description: `For secret scanners and anyone who finds a key (docs/SECRET-SCANNING.md): each token that is a live key of this Tessera (its current token, or the one a roll replaced while its grace period lasts; a disabled key too) is removed at once, on every instance, before the answer, and audited as \`access_key.leaked\` (action \`leak\`) with the source. The answer is the same, and comes no sooner than ${LEAK_REPORT_ANSWER_FLOOR_MS} ms, whatever the tokens are: it never tells whether a token was a key. No credentials needed; at most ${LEAK_REPORTS_PER_WINDOW} reports a minute per client address (429 with \`Retry-After\`).`,
        security: [],
        body: LeakReportBody,
        response: { 202: Received, ...problems(400, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      const revoked = await ctx.accessKeys.revokeLeaked({ name: 'anonymous', ip: request.ip }, { tokens: request.body.tokens, source: request.body.source });
      // For the operator's log only: the reporter learns nothing from the answer.
      if (revoked > 0) request.log.warn({ revoked }, 'leaked access keys revoked');
      await sleep(Math.max(0, LEAK_REPORT_ANSWER_FLOOR_MS - (performance.now() - started)));
      return reply.code(202).send({ received: request.body.tokens.length });
    },
  );
};
