import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GrantSchema } from '../auth/grants.ts';
import type { Grant } from '../auth/permissions.ts';
import { principalOf } from '../http/access-control.ts';
import { IdParams, NullableTimestamp, page, PageQuery, problems, Timestamp } from '../http/schemas.ts';
import type { Context } from '../context.ts';
import { ACCESS_KEY_NAME_MAX_LENGTH, MAX_ROLES } from '../shared/limits.ts';
import { EXPIRATION_PRESETS, type Expiration } from './access-key.ts';
import { ACCESS_KEY_SORTS } from './access-key.repository.ts';

const Roles = Type.Array(GrantSchema, { minItems: 1, maxItems: MAX_ROLES, description: 'One or more roles; the rights are their union.' });

export const AccessKeySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String({ description: 'Unique, and cannot be changed.' }),
    roles: Roles,
    createdAt: Timestamp('When the key was added.'),
    expiresAt: Timestamp("When the key expires; equals the token's `exp`."),
    lastUsedAt: NullableTimestamp('The last request made with the key (exact to a few seconds).'),
    lastUsedIp: Type.Union([Type.String(), Type.Null()], { description: 'The client address of that request.' }),
    useCount: Type.Integer({ description: 'Requests made with the key.' }),
    status: Type.Union([Type.Literal('active'), Type.Literal('expired')]),
  },
  {
    examples: [
      {
        id: '6f1c2b8e-3a4d-4e5f-9a0b-1c2d3e4f5a6b',
        name: 'ci-bot',
        roles: [{ role: 'cloud-account-viewer', accounts: ['demo-aws-production'] }],
        createdAt: '2026-11-27T12:00:00.000Z',
        expiresAt: '2027-05-27T12:00:00.000Z',
        lastUsedAt: null,
        lastUsedIp: null,
        useCount: 0,
        status: 'active',
      },
    ],
  },
);

const ExpirationSchema = Type.Union(
  [
    Type.Union(EXPIRATION_PRESETS.map((p) => Type.Literal(p))),
    Type.Object(
      { days: Type.Integer({ minimum: 1, description: 'Days until the key expires (at most the configured maximum, 730 by default).' }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'A preset, or a custom number of days. Omitted: "6mo" (six calendar months).' },
);

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: ACCESS_KEY_NAME_MAX_LENGTH * 4, description: 'Unique (case-insensitively), 1–64 characters once trimmed.' }),
    expiration: Type.Optional(ExpirationSchema),
    roles: Roles,
  },
  { additionalProperties: false, examples: [{ name: 'ci-bot', expiration: '90d', roles: [{ role: 'cloud-account-viewer', accounts: ['demo-aws-production'] }] }] },
);

const EditBody = Type.Object(
  { roles: Roles },
  { additionalProperties: false, description: "Only roles can change: a key's name is permanent.", examples: [{ roles: [{ role: 'global-viewer' }] }] },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    sort: Type.Optional(
      Type.Union(
        ACCESS_KEY_SORTS.map((s) => Type.Literal(s)),
        { description: 'Sort column (default createdAt).' },
      ),
    ),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'Default: desc (asc for name).' })),
    name: Type.Optional(Type.String({ maxLength: 256, description: 'Keys whose name contains this (case-insensitive).' })),
    role: Type.Optional(Type.Union([Type.Literal('global-admin'), Type.Literal('global-viewer'), Type.Literal('cloud-account-viewer')])),
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('expiring')], {
        description: '"expiring": active and expiring within 30 days (or `expiringWithinDays`).',
      }),
    ),
    expiringWithinDays: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 365, description: "With `status=expiring`: the window in days (default 30); the console's banner uses 7." }),
    ),
  },
  { additionalProperties: false },
);

const TAGS = ['API access keys'];
const access = 'access-keys:manage' as const;

/** `/api/v1/access-keys`: Global Admin only. */
export const accessKeyRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const service = ctx.accessKeys;
  const actorOf = (request: Parameters<typeof principalOf>[0]) => ({ name: principalOf(request).actor, ip: request.ip });

  app.get(
    '/',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'List API access keys',
        description: 'Newest first by default, cursor-paginated. Tokens are never listed.',
        querystring: ListQuery,
        response: { 200: page(AccessKeySchema), ...problems(400, 401, 403) },
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
        summary: 'Add an API access key',
        description: 'Creates a key and returns its JSON web token. The token is shown in this answer only: save it now, it cannot be retrieved again.',
        body: CreateBody,
        response: {
          201: Type.Intersect([AccessKeySchema, Type.Object({ token: Type.String({ description: 'The JSON web token: shown once.' }) })]),
          ...problems(400, 401, 403, 409),
        },
      },
    },
    async (request, reply) => {
      const { key, token } = await service.create(actorOf(request), {
        name: request.body.name,
        expiration: request.body.expiration as Expiration | undefined,
        roles: request.body.roles as Grant[],
      });
      reply.code(201).header('cache-control', 'no-store');
      return { ...key, token };
    },
  );

  app.get(
    '/:id',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Get an API access key',
        description: 'One key, without its token.',
        params: IdParams,
        response: { 200: AccessKeySchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => service.get(request.params.id),
  );

  app.patch(
    '/:id',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Edit an API access key',
        description: "Replaces the key's roles; the next request made with the key has the new rights. The name cannot be changed (a `name` in the body is refused).",
        params: IdParams,
        body: EditBody,
        response: { 200: AccessKeySchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => service.editRoles(actorOf(request), request.params.id, request.body.roles as Grant[]),
  );

  app.delete(
    '/:id',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Remove an API access key',
        description: "The key's token is refused from the very next request on.",
        params: IdParams,
        response: { 204: Type.Null({ description: 'Removed.' }), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await service.remove(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
