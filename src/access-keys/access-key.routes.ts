import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GrantSchema } from '../auth/grants.ts';
import type { Grant } from '../auth/permissions.ts';
import { principalOf } from '../http/access-control.ts';
import { IdParams, NullableTimestamp, page, PageQuery, problems, Timestamp } from '../http/schemas.ts';
import type { Context } from '../context.ts';
import {
  ACCESS_KEY_DESCRIPTION_MAX_LENGTH,
  ACCESS_KEY_NAME_MAX_LENGTH,
  DEFAULT_ROLL_GRACE_MINUTES,
  MAX_ALLOWED_CIDRS,
  MAX_RATE_LIMIT_REQUESTS,
  MAX_RATE_LIMIT_SECONDS,
  MAX_ROLES,
  MAX_ROLL_GRACE_MINUTES,
} from '../shared/limits.ts';
import { EXPIRATION_PRESETS, type Expiration } from './access-key.ts';
import { ACCESS_KEY_SORTS } from './access-key.repository.ts';

const AllowedCidrs = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: MAX_ALLOWED_CIDRS,
  description: `IPv4 and IPv6 addresses or CIDR ranges (at most ${MAX_ALLOWED_CIDRS}) the key may be used from; empty: any address. A request from elsewhere answers 403 \`ip_not_allowed\`. Stored in canonical form (a range's host bits cleared, IPv6 compressed); an IPv4-mapped IPv6 client address is matched as IPv4. The client address honours TESSERA_TRUSTED_PROXIES.`,
});

const RateLimit = Type.Union(
  [
    Type.Object(
      {
        requests: Type.Integer({ minimum: 1, maximum: MAX_RATE_LIMIT_REQUESTS, description: 'Requests allowed in each window.' }),
        perSeconds: Type.Integer({ minimum: 1, maximum: MAX_RATE_LIMIT_SECONDS, description: 'The window, in seconds (at most a day).' }),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ],
  {
    description:
      "The key's own rate limit, in fixed windows that start at the first request: over it, 429 `rate_limited` with `Retry-After`; every answer to the key carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the window ends). With REDIS_URL the count is shared by all instances; without, each instance counts on its own. null: no limit.",
  },
);

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
    status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('disabled')], {
      description: '"disabled": its token is refused until it is enabled again; an expired key shows "expired" whether disabled or not.',
    }),
    description: Type.Union([Type.String(), Type.Null()], { description: 'What the key is for (at most 500 characters).' }),
    createdBy: Type.Union([Type.String(), Type.Null()], {
      description: 'The user (email), key (`key:NAME`) or `cli` that created the key; null for keys from before it was recorded.',
    }),
    previousTokenExpiresAt: NullableTimestamp('After a roll with a grace period: until when the replaced token still works; null otherwise.'),
    allowedCidrs: AllowedCidrs,
    rateLimit: RateLimit,
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
        description: 'Nightly inventory export from CI',
        createdBy: 'admin@example.com',
        previousTokenExpiresAt: null,
        allowedCidrs: ['203.0.113.0/24', '2001:db8::/32'],
        rateLimit: { requests: 100, perSeconds: 60 },
      },
    ],
  },
);

/**
 * A preset, or a custom number of days from 1 to the instance's TESSERA_MAX_KEY_DAYS. Built when
 * the routes are registered, so a refused value is answered with the configured range
 * (`{ days: 1–730 }`) and `/openapi.json` shows it as the `maximum`.
 */
function expirationSchema(maxDays: number) {
  return Type.Union(
    [
      Type.Union(EXPIRATION_PRESETS.map((p) => Type.Literal(p))),
      Type.Object(
        { days: Type.Integer({ minimum: 1, maximum: maxDays, description: `Days until the key expires: 1 to ${maxDays} on this server (TESSERA_MAX_KEY_DAYS).` }) },
        { additionalProperties: false },
      ),
    ],
    { description: 'A preset, or a custom number of days. Omitted: "6mo" (six calendar months).' },
  );
}

type ExpirationSchema = ReturnType<typeof expirationSchema>;

const Description = Type.Union([Type.String({ maxLength: ACCESS_KEY_DESCRIPTION_MAX_LENGTH * 4 }), Type.Null()], {
  description: `What the key is for: at most ${ACCESS_KEY_DESCRIPTION_MAX_LENGTH} characters once trimmed, no control or invisible characters; null or blank for none.`,
});

const createBody = (expiration: ExpirationSchema) =>
  Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: ACCESS_KEY_NAME_MAX_LENGTH * 4, description: 'Unique (case-insensitively), 1–64 characters once trimmed.' }),
      expiration: Type.Optional(expiration),
      roles: Roles,
      description: Type.Optional(Description),
      allowedCidrs: Type.Optional(AllowedCidrs),
      rateLimit: Type.Optional(RateLimit),
    },
    { additionalProperties: false, examples: [{ name: 'ci-bot', expiration: '90d', roles: [{ role: 'cloud-account-viewer', accounts: ['demo-aws-production'] }] }] },
  );

const EditBody = Type.Object(
  {
    roles: Type.Optional(Roles),
    description: Type.Optional(Description),
    disabled: Type.Optional(Type.Boolean({ description: 'true disables the key (its token is refused from the next request); false enables it again.' })),
    allowedCidrs: Type.Optional(AllowedCidrs),
    rateLimit: Type.Optional(RateLimit),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description:
      "Any of roles, description, disabled, allowedCidrs (`[]` for any address) and rateLimit (null for none); the others stay as they are. A key's name is permanent.",
    examples: [
      { roles: [{ role: 'global-viewer' }] },
      { description: 'Nightly inventory export' },
      { disabled: true },
      { allowedCidrs: ['203.0.113.0/24'], rateLimit: { requests: 100, perSeconds: 60 } },
    ],
  },
);

const rollBody = (expiration: ExpirationSchema) =>
  Type.Object(
    {
      expiration: Type.Optional(expiration),
      graceMinutes: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: MAX_ROLL_GRACE_MINUTES,
          description: `How long the replaced token keeps working, never past its own expiry (default ${DEFAULT_ROLL_GRACE_MINUTES}; 0 ends it at once).`,
        }),
      ),
    },
    { additionalProperties: false, examples: [{ graceMinutes: 60 }, { expiration: '90d', graceMinutes: 0 }] },
  );

const WithToken = Type.Intersect([AccessKeySchema, Type.Object({ token: Type.String({ description: 'The JSON web token: shown once.' }) })]);

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
      Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('expiring'), Type.Literal('disabled')], {
        description:
          'A key\'s `status` as shown: "active" (unexpired, enabled), "disabled" (unexpired, disabled), "expired" (disabled or not). "expiring": active and expiring within 30 days (or `expiringWithinDays`).',
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
  const expiration = expirationSchema(ctx.config.maxKeyDays);

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
        body: createBody(expiration),
        response: { 201: WithToken, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { key, token } = await service.create(actorOf(request), {
        name: request.body.name,
        expiration: request.body.expiration as Expiration | undefined,
        roles: request.body.roles as Grant[],
        description: request.body.description,
        allowedCidrs: request.body.allowedCidrs,
        rateLimit: request.body.rateLimit,
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
        description:
          "Replaces the key's roles, its description, whether it is disabled, its network allowlist or its rate limit; the next request made with the key, on any instance, has the new rights (a disabled key's token answers 401 until it is enabled again). The name cannot be changed (a `name` in the body is refused).",
        params: IdParams,
        body: EditBody,
        response: { 200: AccessKeySchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) =>
      service.update(actorOf(request), request.params.id, {
        roles: request.body.roles as Grant[] | undefined,
        description: request.body.description,
        disabled: request.body.disabled,
        allowedCidrs: request.body.allowedCidrs,
        rateLimit: request.body.rateLimit,
      }),
  );

  app.post(
    '/:id/roll',
    {
      config: { access },
      // Every field has a default: a roll may be sent without a body (`curl -X POST …/roll`).
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: TAGS,
        summary: 'Roll an API access key',
        description:
          'Gives the key a new token, shown in this answer only; the key keeps its id, name, roles, description and usage. Without `expiration`, the new token lives as long as the key was created (or last rolled) for, counted from now. The replaced token keeps working until `previousTokenExpiresAt` (the grace period, never past its own expiry), then is refused; rolling again within the grace period ends it at once.',
        params: IdParams,
        body: rollBody(expiration),
        response: { 200: WithToken, ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { key, token } = await service.roll(actorOf(request), request.params.id, {
        expiration: request.body.expiration as Expiration | undefined,
        graceMinutes: request.body.graceMinutes,
      });
      reply.header('cache-control', 'no-store');
      return { ...key, token };
    },
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
