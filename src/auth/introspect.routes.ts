import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { AppError } from '../http/errors.ts';
import { problems } from '../http/schemas.ts';
import { GrantSchema } from './grants.ts';

const IntrospectBody = Type.Object(
  {
    token: Type.String({ maxLength: 16 * 1024, description: 'The token to ask about.' }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 64, description: 'Accepted and ignored (RFC 7662 §2.1): only API access keys can be active here.' })),
  },
  { additionalProperties: false, examples: [{ token: 'eyJ0eXAiOiJ0ZXNzZXJhLWFwaS1rZXkrand0IiwiYWxnIjoiRWREU0EiLCJraWQiOiIuLi4ifQ.eyJzdWIiOiIuLi4ifQ.c2ln' }] },
);

const IntrospectAnswer = Type.Union(
  [
    Type.Object(
      {
        active: Type.Literal(true),
        sub: Type.String({ description: "The key's id." }),
        name: Type.String({ description: "The key's name." }),
        roles: Type.Array(GrantSchema, { description: "The key's roles as they are now." }),
        exp: Type.Integer({ description: 'Expiry, in seconds since the epoch.' }),
        iat: Type.Integer({ description: 'Issue time, in seconds since the epoch.' }),
      },
      { description: 'An active API access key.' },
    ),
    Type.Object({ active: Type.Literal(false) }, { description: 'Anything else: unknown, malformed, expired or removed, or not an API key. Nothing more is said.' }),
  ],
  {
    examples: [
      { active: true, sub: '6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b', name: 'ci-bot', roles: [{ role: 'global-viewer' }], exp: 1795867200, iat: 1780056000 },
      { active: false },
    ],
  },
);

/** `POST /api/v1/token/introspect` (RFC 7662): is this an active API access key, and what may it do? */
export const introspectRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.post(
    '/introspect',
    {
      config: { access: 'access-keys:manage' },
      schema: {
        tags: ['API access keys'],
        summary: 'Introspect a token',
        description:
          'OAuth 2.0 token introspection (RFC 7662), for Global Admins: send `token=<JWT>` as a form (application/x-www-form-urlencoded; JSON is accepted too). For an active API access key the answer is `active: true` with its `sub` (key id), `name`, current `roles`, `exp` (when this token stops working: for a token replaced by a roll, the end of its grace period) and `iat`; for anything else (a token of a disabled key too) only `{ "active": false }`. Asking does not count as a use of the key.',
        body: IntrospectBody,
        response: { 200: IntrospectAnswer, ...problems(400, 401, 403, 413, 415) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      const result = await ctx.accessKeyAuth.check(request.body.token);
      if (!result.ok) return { active: false as const };
      try {
        const key = await ctx.accessKeys.get(result.keyId);
        // This token's own times: after a roll the key has a newer token, and this one may be
        // the replaced token, whose end is its grace period's. (The check verified the token.)
        const claims = JSON.parse(Buffer.from(request.body.token.split('.')[1] as string, 'base64url').toString('utf8')) as { iat: number };
        return {
          active: true as const,
          sub: key.id,
          name: key.name,
          roles: key.roles,
          exp: Math.floor(result.untilMs / 1000),
          iat: claims.iat,
        };
      } catch (error) {
        // Removed between the check and the read: no longer active.
        if (error instanceof AppError && error.code === 'not_found') return { active: false as const };
        throw error;
      }
    },
  );
};
