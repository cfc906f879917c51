import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { GrantSchema } from '../auth/grants.ts';
import type { Grant } from '../auth/permissions.ts';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { IdParams, page, PageQuery, problems, Timestamp } from '../http/schemas.ts';
import { DISPLAY_NAME_MAX_LENGTH, MAX_ROLES } from '../shared/limits.ts';
import { ManagedUserSchema } from './user.schemas.ts';

const Roles = Type.Array(GrantSchema, { minItems: 1, maxItems: MAX_ROLES, description: 'One or more roles; the rights are their union.' });
const DisplayName = Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX_LENGTH * 4, description: '1–100 characters once trimmed.' });

const InvitedUserSchema = Type.Object({
  ...ManagedUserSchema.properties,
  invitationUrl: Type.String({ description: 'The link to pass on to the user (valid 7 days, works once). Shown in this answer only.' }),
  invitationExpiresAt: Timestamp('When the link expires.'),
});

const PasswordResetSchema = Type.Object({
  ...ManagedUserSchema.properties,
  password: Type.String({ description: 'The new generated password to pass on to the user. Shown in this answer only.' }),
});

const CreateBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320, description: 'Unique (case-insensitively); cannot be changed later.' }),
    displayName: Type.Optional(DisplayName),
    roles: Roles,
  },
  { additionalProperties: false },
);

const EditBody = Type.Object(
  { displayName: Type.Optional(DisplayName), roles: Type.Optional(Roles) },
  { additionalProperties: false, minProperties: 1, description: 'The email cannot change (an `email` in the body is refused).' },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    q: Type.Optional(Type.String({ maxLength: 320, description: 'Users whose email or display name contains this (case-insensitive).' })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('pending')])),
  },
  { additionalProperties: false },
);

const TAGS = ['Users'];
const access = 'users:manage' as const;

/** `/api/v1/users`: the console's people, managed by Global Admins. */
export const userRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const service = ctx.users;
  const actorOf = (request: FastifyRequest) => ({ name: principalOf(request).actor, ip: request.ip });

  app.get(
    '/',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'List users',
        description: 'In email order, cursor-paginated.',
        querystring: ListQuery,
        response: { 200: page(ManagedUserSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => service.list(request.query),
  );

  app.post(
    '/',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Invite a user',
        description:
          'Adds a pending user and returns an invitation link (valid 7 days) to pass on; the user sets a password by opening it. No mail is sent. The link is shown in this answer only.',
        body: CreateBody,
        response: { 201: InvitedUserSchema, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const invited = await service.invite(actorOf(request), {
        email: request.body.email,
        displayName: request.body.displayName,
        roles: request.body.roles as Grant[],
      });
      reply.code(201).header('cache-control', 'no-store');
      return invited;
    },
  );

  app.get(
    '/:id',
    {
      config: { access },
      schema: { tags: TAGS, summary: 'Get a user', description: 'One user.', params: IdParams, response: { 200: ManagedUserSchema, ...problems(401, 403, 404) } },
    },
    async (request) => service.get(request.params.id),
  );

  app.post(
    '/:id/invitation',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Make a new invitation link',
        description: 'For a pending user: a new link (valid 7 days); the previous link stops working at once. 409 for an active user.',
        params: IdParams,
        response: { 201: InvitedUserSchema, ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const invited = await service.reinvite(actorOf(request), request.params.id);
      reply.code(201).header('cache-control', 'no-store');
      return invited;
    },
  );

  app.post(
    '/:id/password-reset',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: "Reset a user's password",
        description:
          "For an active user: sets a new generated password, returned in this answer only, and ends the user's sessions and tokens. 409 for a pending user (make a new invitation link instead).",
        params: IdParams,
        response: { 200: PasswordResetSchema, ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { user, password } = await service.resetPassword(actorOf(request), request.params.id);
      reply.header('cache-control', 'no-store');
      return { ...user, password };
    },
  );

  app.patch(
    '/:id',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Edit a user',
        description:
          "Changes the display name or the roles; the user's next request has the new rights. The email cannot change. The primary user keeps Global Admin (409).",
        params: IdParams,
        body: EditBody,
        response: { 200: ManagedUserSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      service.edit(actorOf(request), request.params.id, {
        displayName: request.body.displayName,
        roles: request.body.roles as Grant[] | undefined,
      }),
  );

  app.delete(
    '/:id',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Delete a user',
        description:
          "Ends the user's sessions and tokens at once; a pending user's invitation link stops working. The primary user cannot be deleted (409), nor can you delete yourself (409).",
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await service.remove(actorOf(request), request.params.id, principal.kind === 'user' ? principal.id : undefined);
      return reply.code(204).send(null);
    },
  );
};
