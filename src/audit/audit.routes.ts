import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { page, PageQuery, problems, Timestamp } from '../http/schemas.ts';
import { AUDIT_ACTIONS, AUDIT_CATEGORIES, type AuditAction, type AuditCategory } from './audit-event.ts';

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  at: Timestamp('When the change was made.'),
  actor: Type.String({ description: "The user's email, `key:<name>` for an API key, `cli` or `system`." }),
  actorIp: Type.Union([Type.String(), Type.Null()], { description: 'The client address, when the change came over HTTP.' }),
  category: Type.String({ description: `One of: ${AUDIT_CATEGORIES.join(', ')}.` }),
  resource: Type.String({ description: 'What was changed, by name.' }),
  resourceId: Type.Union([Type.String(), Type.Null()]),
  action: Type.String({ description: `One of: ${AUDIT_ACTIONS.join(', ')}.` }),
  detail: Type.Record(Type.String(), Type.Unknown(), { description: 'What changed. Never a secret, token or password.' }),
});

const ListQuery = Type.Object(
  {
    ...PageQuery,
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Events before this time.' })),
    actor: Type.Optional(Type.String({ maxLength: 400, description: 'Exactly this actor: an email, or `key:<name>`.' })),
    category: Type.Optional(Type.Union(AUDIT_CATEGORIES.map((c) => Type.Literal(c)))),
    action: Type.Optional(Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a)))),
  },
  { additionalProperties: false },
);

/** `/api/v1/audit-events`: the record of every change, for Global Admins. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.get(
    '/',
    {
      config: { access: 'audit:read' },
      schema: {
        tags: ['Audit log'],
        summary: 'List audit events',
        description:
          'Newest first, cursor-paginated; filter by time (`from` inclusive, `to` exclusive), actor, category and action. Events older than the retention period (365 days unless configured) are deleted.',
        querystring: ListQuery,
        response: { 200: page(AuditEventSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) =>
      ctx.audit.list({
        ...request.query,
        category: request.query.category as AuditCategory | undefined,
        action: request.query.action as AuditAction | undefined,
      }),
  );
};
