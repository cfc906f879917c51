import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { IdParams, NullableTimestamp, page, PageQuery, problems, Timestamp } from '../http/schemas.ts';
import { MAX_WEBHOOKS, WEBHOOK_DESCRIPTION_MAX_LENGTH, WEBHOOK_EVENT_TYPES, WEBHOOK_URL_MAX_LENGTH, type WebhookEventType } from './webhook.ts';

const EventType = Type.Unsafe<WebhookEventType>(
  Type.Union(
    WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)),
    { description: 'An event type (README, "Webhooks").' },
  ),
);
const Events = Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true, description: 'The event types to receive.' });
const Url = Type.String({
  minLength: 1,
  maxLength: WEBHOOK_URL_MAX_LENGTH,
  description:
    'An http(s) URL that receives each event as a POST. Refused when it points at a loopback, private or link-local address, unless the server sets TESSERA_WEBHOOK_ALLOW_PRIVATE=true.',
});
const Description = Type.Union([Type.String({ maxLength: WEBHOOK_DESCRIPTION_MAX_LENGTH }), Type.Null()], {
  description: `At most ${WEBHOOK_DESCRIPTION_MAX_LENGTH} characters.`,
});

export const WebhookSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    events: Type.Array(EventType),
    description: Type.Union([Type.String(), Type.Null()]),
    createdAt: Timestamp('When the webhook was added.'),
    updatedAt: Timestamp('When it last changed.'),
  },
  {
    examples: [
      {
        id: '0d6c7f3e-2b1a-4c5d-8e9f-0a1b2c3d4e5f',
        url: 'https://hooks.example.com/tessera',
        events: ['access_key.expiring', 'access_key.expired'],
        description: 'Key expiry to the on-call channel',
        createdAt: '2026-12-07T12:00:00.000Z',
        updatedAt: '2026-12-07T12:00:00.000Z',
      },
    ],
  },
);

const DeliverySchema = Type.Object({
  id: Type.String({ description: 'The `webhook-id` header: the same on every attempt.' }),
  type: Type.String({ description: 'The event type (`webhook.test` for a test).' }),
  createdAt: Timestamp('When the event happened.'),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')], {
    description: '`pending` until a 2xx answer (`delivered`) or the end of the 24-hour retry window (`failed`).',
  }),
  attempts: Type.Array(
    Type.Object({
      at: Timestamp('When the attempt was made.'),
      statusCode: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's status; null when it never answered." }),
      error: Type.Union([Type.String(), Type.Null()], { description: 'Why the attempt failed; null when it succeeded.' }),
      durationMs: Type.Integer(),
    }),
  ),
  nextAttemptAt: NullableTimestamp('When the next attempt is due; null when none will be made.'),
  deliveredAt: NullableTimestamp('When a 2xx answer came.'),
});

const CreateBody = Type.Object(
  { url: Url, events: Events, description: Type.Optional(Description) },
  { additionalProperties: false, examples: [{ url: 'https://hooks.example.com/tessera', events: ['access_key.expiring', 'access_key.expired'] }] },
);
const EditBody = Type.Object(
  { url: Type.Optional(Url), events: Type.Optional(Events), description: Type.Optional(Description) },
  { additionalProperties: false, minProperties: 1, examples: [{ events: ['access_key.created', 'access_key.removed'] }] },
);
const DeliveriesQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')])) },
  { additionalProperties: false },
);

const TAGS = ['Webhooks'];
const access = 'webhooks:manage' as const;

/** `/api/v1/webhooks`: Global Admin only. */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const service = ctx.webhooks;
  const actorOf = (request: FastifyRequest) => ({ name: principalOf(request).actor, ip: request.ip });

  app.get(
    '/',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'List webhooks',
        description: `Every webhook (at most ${MAX_WEBHOOKS}), oldest first. Secrets are never listed.`,
        response: { 200: Type.Object({ items: Type.Array(WebhookSchema) }), ...problems(401, 403) },
      },
    },
    async () => service.list(),
  );

  app.post(
    '/',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Add a webhook',
        description:
          'Each event is POSTed as `{ type, timestamp, data }`, signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The `secret` that verifies the signatures is in this answer only: save it now.',
        body: CreateBody,
        response: {
          201: Type.Intersect([WebhookSchema, Type.Object({ secret: Type.String({ description: 'The signing secret (`whsec_…`): shown once.' }) })]),
          ...problems(400, 401, 403, 409),
        },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = await service.create(actorOf(request), request.body);
      reply.code(201).header('cache-control', 'no-store');
      return { ...webhook, secret };
    },
  );

  app.get(
    '/:id',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Get a webhook',
        description: 'One webhook, without its secret.',
        params: IdParams,
        response: { 200: WebhookSchema, ...problems(401, 403, 404) },
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
        summary: 'Edit a webhook',
        description: 'Changes its URL (checked as on creation), its event types or its description. The secret stays.',
        params: IdParams,
        body: EditBody,
        response: { 200: WebhookSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => service.edit(actorOf(request), request.params.id, request.body),
  );

  app.delete(
    '/:id',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Remove a webhook',
        description: 'Its pending deliveries are dropped.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Removed.' }), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await service.remove(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/:id/test',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Send a test event',
        description:
          'Queues a `webhook.test` event (`data`: `{ webhookId }`) for this webhook, whatever it subscribes to; it is sent within about a second and retried like any other. Follow it in the deliveries.',
        params: IdParams,
        response: { 202: DeliverySchema, ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      reply.code(202);
      return service.test(actorOf(request), request.params.id);
    },
  );

  app.get(
    '/:id/deliveries',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: "List a webhook's deliveries",
        description: 'Newest first, cursor-paginated: each event sent to this webhook, its attempts with their status codes, and the next retry. Kept for 30 days.',
        params: IdParams,
        querystring: DeliveriesQuery,
        response: { 200: page(DeliverySchema), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => service.deliveries(request.params.id, request.query),
  );
};
