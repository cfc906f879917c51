import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PROTOCOLS } from '../assets/asset.ts';
import { literals } from '../cloud-accounts/cloud-account.schemas.ts';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { NullableTimestamp, problems } from '../http/schemas.ts';
import { MAX_RULES } from './policy-rule.ts';

const Endpoint = (description: string) =>
  Type.String({ minLength: 1, maxLength: 400, description: `${description}: "any", "internet", a CIDR such as 10.0.0.0/8, or a tag selector such as tag:env=prod.` });
const Action = Type.Union([Type.Literal('allow'), Type.Literal('deny')]);
const Protocol = literals(PROTOCOLS);
const Ports = Type.Array(Type.String({ maxLength: 11 }), {
  minItems: 1,
  maxItems: 64,
  description: '["any"], or ports and ranges such as ["443", "8000-8080"]; ["any"] for icmp and any.',
});

const EXAMPLE_RULES = [
  {
    id: 'deny-ssh-from-internet',
    name: 'No SSH from the internet',
    description: 'Administration goes through the bastion.',
    action: 'deny',
    protocol: 'tcp',
    source: 'internet',
    destination: 'any',
    ports: ['22'],
    enabled: true,
  },
  {
    id: 'allow-https-to-web',
    name: 'HTTPS to web tier',
    description: '',
    action: 'allow',
    protocol: 'tcp',
    source: 'internet',
    destination: 'tag:tier=web',
    ports: ['443'],
    enabled: true,
  },
];

const RuleSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  action: Action,
  protocol: Protocol,
  source: Type.String(),
  destination: Type.String(),
  ports: Type.Array(Type.String()),
  enabled: Type.Boolean(),
});

const PolicySchema = Type.Object(
  {
    rules: Type.Array(RuleSchema, { description: 'In order: the first rule that matches decides.' }),
    updatedAt: NullableTimestamp('When the rules were last replaced.'),
  },
  { examples: [{ rules: EXAMPLE_RULES, updatedAt: '2026-11-27T12:00:00.000Z' }] },
);

const RuleInput = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Keep a rule's id when sending it back; omit for a new rule." })),
    name: Type.String({ minLength: 1, maxLength: 400, description: 'Unique in the policy (case-insensitive), 1–100 characters.' }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    action: Action,
    protocol: Protocol,
    source: Endpoint('Where traffic comes from'),
    destination: Endpoint('Where it goes'),
    ports: Ports,
    enabled: Type.Optional(Type.Boolean({ description: 'Default true.' })),
  },
  { additionalProperties: false },
);

const ReplaceBody = Type.Object({ rules: Type.Array(RuleInput, { maxItems: MAX_RULES }) }, { additionalProperties: false, examples: [{ rules: EXAMPLE_RULES }] });

const TAGS = ['Public cloud policy'];

/** `/api/v1/policy`: the public cloud policy, read by viewers, replaced as a whole by Global Admins. */
export const policyRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.get(
    '/rules',
    {
      config: { access: 'policy:read' },
      schema: {
        tags: TAGS,
        summary: 'Get the policy rules',
        description: 'The public cloud policy: which traffic is allowed or denied between the internet, address ranges and tagged assets, in order.',
        response: { 200: PolicySchema, ...problems(401, 403) },
      },
    },
    async () => ctx.policy.get(),
  );

  app.put(
    '/rules',
    {
      config: { access: 'policy:write' },
      schema: {
        tags: TAGS,
        summary: 'Replace the policy rules',
        description:
          'Replaces every rule at once, in the order given. The whole set is validated first (unique names and ids, endpoints, ports that fit the protocol); one bad rule refuses the request and changes nothing. An empty list removes every rule.',
        body: ReplaceBody,
        response: { 200: PolicySchema, ...problems(400, 401, 403) },
      },
    },
    async (request) => ctx.policy.replace({ name: principalOf(request).actor, ip: request.ip }, request.body.rules),
  );
};
