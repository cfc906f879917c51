import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { AppError } from '../http/errors.ts';
import { ProblemSchema, problems } from '../http/schemas.ts';

const TokenBody = Type.Object(
  {
    grant_type: Type.Literal('password', { description: 'Only the password grant is offered.' }),
    username: Type.String({ minLength: 1, maxLength: 320, description: "The user's email." }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    // Sent by OAuth clients such as the API homepage; no scopes or clients exist here, so they are ignored.
    scope: Type.Optional(Type.String({ maxLength: 1024 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

const TokenAnswer = Type.Object({
  access_token: Type.String({ description: 'A JSON web token: send it as `Authorization: Bearer <token>`.' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires.' }),
});

/** The error answer, with the OAuth 2.0 fields (RFC 6749 §5.2) next to the problem ones. */
const TokenProblem = Type.Object(
  { ...ProblemSchema.properties, error: Type.Optional(Type.String()), error_description: Type.Optional(Type.String()) },
  { description: 'An application/problem+json error (RFC 9457), with the OAuth 2.0 `error` field on a refused grant.' },
);

/** `POST /api/v1/token`: a user's email and password for a short-lived API token (OAuth 2.0 password grant). */
export const tokenRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.post(
    '/',
    {
      config: { access: 'public' },
      schema: {
        tags: ['Sign-in'],
        summary: 'Get a user token',
        description:
          "The OAuth 2.0 password grant: `grant_type=password`, `username` (the email) and `password`, as a form (application/x-www-form-urlencoded) or JSON. The token is valid for one hour and carries the user's roles as they are at each request; it is refused once the user's password changes or the user signs out everywhere. Failed attempts are throttled like the console's sign-in (429 with `Retry-After`).",
        security: [],
        body: TokenBody,
        response: { 200: TokenAnswer, 400: TokenProblem, ...problems(415, 429) },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const result = await ctx.signIn.check(username, password, request.ip, 'token');
      if (!result.ok) {
        throw new AppError('invalid_grant', 'The email or password is wrong.', { error: 'invalid_grant', error_description: 'The email or password is wrong.' });
      }
      const { token, expiresIn } = await ctx.userTokens.issue(result.user, request.ip);
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return { access_token: token, token_type: 'Bearer' as const, expires_in: expiresIn };
    },
  );
};
