import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { problems } from '../http/schemas.ts';
import type { AccessKeyPolicy } from './access-key-policy.ts';

const Days = (description: string) => Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()], { description });

const PolicySchema = Type.Object(
  {
    maxDays: Type.Object(
      {
        'global-admin': Days('The longest lifetime of a key with this role, in days; null: only TESSERA_MAX_KEY_DAYS applies.'),
        'global-viewer': Days('As for global-admin.'),
        'cloud-account-viewer': Days('As for global-admin.'),
      },
      {
        additionalProperties: false,
        description:
          "The longest lifetime, in days, of a key holding each role; a key's limit is the smallest among its roles. Checked when a key is created, rolled or given new roles; at most TESSERA_MAX_KEY_DAYS.",
      },
    ),
    disableAfterUnusedDays: Days(
      'Keys unused for this many days (counted from the last use, or from creation, enabling or the last roll if later) are disabled by the hourly housekeeping job, with the reason "dormant"; null: never.',
    ),
    requireDescription: Type.Boolean({ description: 'Whether a key must have a description.' }),
  },
  {
    additionalProperties: false,
    examples: [{ maxDays: { 'global-admin': 90, 'global-viewer': 365, 'cloud-account-viewer': null }, disableAfterUnusedDays: 90, requireDescription: true }],
  },
);

const TAGS = ['API access keys'];
const access = 'access-keys:manage' as const;

/** `/api/v1/settings/access-key-policy`: Global Admin only. */
export const accessKeyPolicyRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.get(
    '/',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Get the access key policy',
        description: 'Lifetime limits per role, dormancy, and whether keys need a description.',
        response: { 200: PolicySchema, ...problems(401, 403) },
      },
    },
    async () => ctx.accessKeys.policy(),
  );

  app.put(
    '/',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Set the access key policy',
        description:
          'Replaces the whole policy. Limits apply to keys created, rolled or given new roles from now on; a create, roll or role edit beyond them answers 400 `policy_violation` naming the role and its limit.',
        body: PolicySchema,
        response: { 200: PolicySchema, ...problems(400, 401, 403) },
      },
    },
    async (request) => ctx.accessKeys.setPolicy({ name: principalOf(request).actor, ip: request.ip }, request.body as AccessKeyPolicy),
  );
};
