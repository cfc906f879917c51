import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { AppError, validationFailed } from '../http/errors.ts';
import { problems } from '../http/schemas.ts';
import { PasswordSchema, UserSchema } from '../users/user.schemas.ts';

const SessionSchema = Type.Object({
  user: UserSchema,
  csrfToken: Type.String({ description: 'Send it as the `x-csrf-token` header on every request that changes something.' }),
});

const SignInBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

const TAGS = ['Sign-in'];

/** `/api/v1/session`: the console's sign-in, its session, and sign-out. */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const sessions = ctx.sessions;
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'lax' as const,
    path: '/',
    secure: sessions.options.secure,
  };
  const clearCookie = (reply: FastifyReply) => reply.clearCookie(sessions.cookieName, cookieOptions);

  app.post(
    '/',
    {
      config: { access: 'public' },
      schema: {
        tags: TAGS,
        summary: 'Sign in',
        description:
          'Checks the email and password and starts a session: the answer sets an HttpOnly session cookie and carries the CSRF token that state-changing requests must send as `x-csrf-token`. JSON only. Failed attempts are counted per client address: after 5 within 15 minutes for one account from one address, or 20 from one address for any accounts, that answers 429 with `Retry-After`; an account attacked from many addresses is slowed down (up to 15 s an attempt), never locked.',
        security: [],
        body: SignInBody,
        response: { 200: SessionSchema, ...problems(400, 401, 415, 429) },
      },
      // A form post from another site must not sign a browser in (login CSRF): JSON only.
      preValidation: async (request) => {
        const type = request.headers['content-type'] ?? '';
        if (!/^application\/json\s*(;|$)/i.test(type)) throw new AppError('unsupported_media_type', 'Send the sign-in as application/json.');
      },
    },
    async (request, reply) => {
      const { email, password } = request.body;
      const result = await ctx.signIn.check(email, password, request.ip, 'session');
      if (!result.ok) throw new AppError('invalid_credentials', 'The email or password is wrong.');
      const userAgent = request.headers['user-agent'];
      const session = await sessions.start(result.user, request.ip, userAgent, request.cookies[sessions.cookieName]);
      reply.setCookie(sessions.cookieName, session.cookieValue, { ...cookieOptions, maxAge: sessions.maxAgeSeconds });
      reply.header('cache-control', 'no-store');
      return { user: session.user, csrfToken: session.csrfToken };
    },
  );

  app.get(
    '/',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: TAGS,
        summary: 'The current session',
        description: "The signed-in user (with the roles as they are now) and the session's CSRF token. 401 when the cookie is missing, expired or ended.",
        response: { 200: SessionSchema, ...problems(401) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      if (principal.session === undefined) throw new AppError('invalid_token', 'This request is not made with a session cookie: sign in with POST /api/v1/session.');
      const user = await ctx.users.find(principal.id);
      if (user === undefined) throw new AppError('invalid_token', 'The session has ended.');
      return { user, csrfToken: principal.session.csrfToken };
    },
  );

  app.delete(
    '/',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: TAGS,
        summary: 'Sign out',
        description:
          'Ends this session at once (server-side) and clears the cookie. With `everywhere=true`, signs the user out everywhere: every session of theirs ends and every user token (`POST /api/v1/token`) issued to them so far is refused from the next request on; this form also works with a user token. A session needs the `x-csrf-token` header.',
        querystring: Type.Object(
          { everywhere: Type.Optional(Type.Boolean({ default: false, description: 'End every session and revoke every user token of this user.' })) },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null({ description: 'Signed out.' }), ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (request.query.everywhere === true) {
        if (principal.kind !== 'user') throw new AppError('insufficient_scope', 'Only a signed-in user can sign out; an API key is removed instead.');
        await sessions.endEverywhere(principal, request.ip);
      } else {
        if (principal.session === undefined)
          throw new AppError('invalid_token', 'This request is not made with a session cookie: to revoke user tokens, sign out with ?everywhere=true.');
        await sessions.end(principal, request.ip);
      }
      if (principal.session !== undefined) clearCookie(reply);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/password',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: TAGS,
        summary: 'Change my password',
        description:
          "The signed-in user (session or user token) sets a new password (at least 12 characters) by giving the current one. The user's other sessions end; this one stays. Every user token issued before the change is refused from the next request on (including the one making it). A wrong current password counts as a failed sign-in (400, then 429 after 5 from one address).",
        body: Type.Object({ currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: PasswordSchema }, { additionalProperties: false }),
        response: { 204: Type.Null({ description: 'Changed.' }), ...problems(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (principal.kind !== 'user') throw new AppError('insufficient_scope', 'Only a signed-in user has a password to change.');
      const result = await ctx.signIn.check(principal.actor, request.body.currentPassword, request.ip, principal.via === 'session' ? 'session' : 'token');
      if (!result.ok || result.user.id !== principal.id) throw validationFailed('/currentPassword', 'is not your current password');
      await ctx.users.changePassword({ name: principal.actor, ip: request.ip }, principal.id, request.body.newPassword, principal.session?.id);
      return reply.code(204).send(null);
    },
  );
};
