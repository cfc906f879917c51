import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { problems } from '../http/schemas.ts';
import { AccessKeySchema } from './access-key.routes.ts';
import { rowToAccessKey } from './access-key.repository.ts';
import { keysExpiringSoon } from './expiry-warnings.ts';

/** Counting stops here: a banner says "1,000+" rather than count a million keys. */
const COUNT_CAP = 1000;
const SOONEST = 5;

/** `/api/v1/access-keys/expiring-soon`: what the console's banner and dashboard show. Global Admin only. */
export const expiringSoonRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.get(
    '/expiring-soon',
    {
      config: { access: 'access-keys:manage' },
      schema: {
        tags: ['API access keys'],
        summary: 'Count the keys expiring soon',
        description: `Active keys expiring within \`withinDays\` (default 7): how many (counted up to ${COUNT_CAP}) and the ${SOONEST} soonest. List them all with \`GET /api/v1/access-keys?status=expiring&expiringWithinDays=7\`.`,
        querystring: Type.Object(
          { withinDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, default: 7, description: 'The window in days (1–365).' })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            withinDays: Type.Integer(),
            count: Type.Integer({ description: `How many keys; at most ${COUNT_CAP} (see \`capped\`).` }),
            capped: Type.Boolean({ description: `True when there are more than ${COUNT_CAP}.` }),
            soonest: Type.Array(AccessKeySchema, { description: `The ${SOONEST} that expire first.` }),
          }),
          ...problems(400, 401, 403),
        },
      },
    },
    async (request) => {
      const withinDays = request.query.withinDays ?? 7;
      const now = ctx.clock();
      const { count, capped, soonest } = await keysExpiringSoon(ctx.storage.db, now, withinDays, { cap: COUNT_CAP, soonest: SOONEST });
      return { withinDays, count, capped, soonest: soonest.map((row) => rowToAccessKey(row, now)) };
    },
  );
};
