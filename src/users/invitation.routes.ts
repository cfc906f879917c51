import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { problems, Timestamp } from '../http/schemas.ts';
import { PasswordSchema, UserSchema } from './user.schemas.ts';

const Token = Type.String({ minLength: 1, maxLength: 256, description: 'The token at the end of the invitation link.' });

const TAGS = ['Sign-in'];

/** `/api/v1/invitations`: what the invitation page calls (public: the token is the credential). */
export const invitationRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.post(
    '/inspect',
    {
      config: { access: 'public' },
      schema: {
        tags: TAGS,
        summary: 'Look at an invitation',
        description:
          'Who an invitation link is for and when it expires, so the page can say so before a password is chosen. 400 `invitation_invalid` for an unknown, used or expired link.',
        security: [],
        body: Type.Object({ token: Token }, { additionalProperties: false }),
        response: {
          200: Type.Object({ email: Type.String(), displayName: Type.String(), expiresAt: Timestamp('When the link expires.') }),
          ...problems(400),
        },
      },
    },
    async (request) => ctx.users.inspectInvitation(request.body.token),
  );

  app.post(
    '/accept',
    {
      config: { access: 'public' },
      schema: {
        tags: TAGS,
        summary: 'Accept an invitation',
        description:
          'Sets the password (at least 12 characters) of the invited user and activates them; then sign in with the email and that password. A link works once.',
        security: [],
        body: Type.Object({ token: Token, password: PasswordSchema }, { additionalProperties: false }),
        response: { 200: Type.Object({ user: UserSchema }), ...problems(400) },
      },
    },
    async (request, reply) => {
      const user = await ctx.users.acceptInvitation(request.body.token, request.body.password, request.ip);
      reply.header('cache-control', 'no-store');
      return { user };
    },
  );
};
