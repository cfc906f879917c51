import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AssetInputSchema, ReplaceResultSchema } from '../assets/asset.schemas.ts';
import type { AssetInput } from '../assets/asset.ts';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { IdParams, page, PageQuery, problems } from '../http/schemas.ts';
import { AccountStatusSchema, CloudAccountSchema, VendorSchema } from './cloud-account.schemas.ts';
import { DISPLAY_NAME_MAX_LENGTH, STATUS_DETAIL_MAX_LENGTH } from '../shared/limits.ts';

const DisplayName = Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX_LENGTH * 4, description: '1–100 characters once trimmed.' });
const ExternalId = Type.String({ minLength: 1, maxLength: 64, description: 'AWS: the 12-digit account id. Azure: the subscription id (GUID). GCP: the project id.' });
const StatusDetail = Type.Union([Type.String({ maxLength: STATUS_DETAIL_MAX_LENGTH }), Type.Null()], {
  description: 'What is wrong (for the two non-connected statuses).',
});
const CredentialId = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], { description: 'A credential of the same vendor; null for none.' });

const CreateBody = Type.Object(
  {
    vendor: VendorSchema,
    displayName: DisplayName,
    externalId: ExternalId,
    credentialId: Type.Optional(CredentialId),
    status: Type.Optional(AccountStatusSchema),
    statusDetail: Type.Optional(StatusDetail),
  },
  {
    additionalProperties: false,
    description: 'Without a status, an account with a credential starts "connected", one without "error".',
    examples: [{ vendor: 'aws', displayName: 'AWS Sandbox', externalId: '210987654321' }],
  },
);

const EditBody = Type.Object(
  {
    displayName: Type.Optional(DisplayName),
    externalId: Type.Optional(ExternalId),
    credentialId: Type.Optional(CredentialId),
    status: Type.Optional(AccountStatusSchema),
    statusDetail: Type.Optional(StatusDetail),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'The fields to change. The vendor cannot change. A new status without a statusDetail clears the detail.',
    examples: [{ status: 'connected-with-warnings', statusDetail: 'CloudTrail is not enabled in eu-west-1.' }],
  },
);

const ListQuery = Type.Object(
  {
    ...PageQuery,
    vendor: Type.Optional(VendorSchema),
    status: Type.Optional(AccountStatusSchema),
  },
  { additionalProperties: false },
);

const ReplaceBody = Type.Object(
  { assets: Type.Array(AssetInputSchema, { maxItems: 10_000, description: 'The complete inventory of the account (at most 10,000 assets).' }) },
  {
    additionalProperties: false,
    examples: [
      {
        assets: [
          {
            resourceId: 'i-0a1b2c3d4e5f60718',
            type: 'virtual-machine',
            name: 'web-1',
            region: 'us-east-1',
            tags: { env: 'prod' },
            properties: { instanceType: 't3.medium' },
            network: { networkId: 'vpc-0a1b2c3d', subnetId: 'subnet-0a1b2c3d', privateIps: ['10.0.1.10'], publicIps: ['203.0.113.10'], securityGroups: [] },
          },
        ],
      },
    ],
  },
);

/** An account's inventory can be far larger than an ordinary request. */
export const ASSET_REPLACE_BODY_LIMIT = 16 * 1024 * 1024;

/** These routes name their cloud account by the `id` path parameter. */
const ACCOUNT_IN_PATH = { from: 'params', name: 'id' } as const;

const TAGS = ['Cloud accounts'];
const JSON_UTF8 = 'application/json; charset=utf-8';

/** `/api/v1/cloud-accounts`: read inside the caller's account scope; written by Global Admins. */
export const cloudAccountRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const service = ctx.cloudAccounts;
  const actorOf = (request: FastifyRequest) => ({ name: principalOf(request).actor, ip: request.ip });
  const scopeOf = (request: FastifyRequest) => principalOf(request).scope;

  app.get(
    '/',
    {
      config: { access: 'cloud-accounts:read' },
      schema: {
        tags: TAGS,
        summary: 'List cloud accounts',
        description:
          'The accounts the caller may see (a Cloud Account Viewer: only its granted accounts), by display name, cursor-paginated. Filter by `vendor` and `status`.',
        querystring: ListQuery,
        response: { 200: page(CloudAccountSchema), ...problems(400, 401, 403) },
      },
    },
    (request, reply) => {
      const scope = scopeOf(request);
      const { limit, cursor, vendor, status } = request.query;
      // Every caller with the same account scope sees the same page: one cached answer, as sent
      // (bytes already serialized by this route's response schema, sent as they are).
      const key = JSON.stringify([scope.all ? '*' : scope.ids, limit, cursor, vendor, status]);
      reply.type(JSON_UTF8);
      // A kept page is sent at once, without a promise; only a miss reads the database.
      const cached = ctx.cloudAccountPages.cached(key);
      if (cached !== undefined) return void reply.send(cached as never);
      return ctx.cloudAccountPages
        .get(key, async () => Buffer.from(String(reply.serialize(await service.list(scope, request.query)))))
        .then((body) => void reply.send(body as never));
    },
  );

  app.post(
    '/',
    {
      config: { access: 'cloud-accounts:write' },
      schema: {
        tags: TAGS,
        summary: 'Add a cloud account',
        description:
          'Adds an AWS account, Azure subscription or GCP project. The external id is validated for the vendor and unique per vendor (409). A `credentialId` must name a credential of the same vendor.',
        body: CreateBody,
        response: { 201: CloudAccountSchema, ...problems(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return service.create(actorOf(request), request.body);
    },
  );

  app.get(
    '/:id',
    {
      config: { access: 'cloud-accounts:read', account: ACCOUNT_IN_PATH },
      schema: {
        tags: TAGS,
        summary: 'Get a cloud account',
        description: "One account. An account outside the caller's scope answers 404, as if it did not exist.",
        params: IdParams,
        response: { 200: CloudAccountSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => service.get(scopeOf(request), request.params.id),
  );

  app.patch(
    '/:id',
    {
      config: { access: 'cloud-accounts:write', account: ACCOUNT_IN_PATH },
      schema: {
        tags: TAGS,
        summary: 'Edit a cloud account',
        description: 'Changes the display name, external id, credential or status. The vendor cannot change.',
        params: IdParams,
        body: EditBody,
        response: { 200: CloudAccountSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request) => service.edit(actorOf(request), scopeOf(request), request.params.id, request.body),
  );

  app.delete(
    '/:id',
    {
      config: { access: 'cloud-accounts:write', account: ACCOUNT_IN_PATH },
      schema: {
        tags: TAGS,
        summary: 'Delete a cloud account',
        description:
          'Deletes the account with its assets and their CVEs, and removes it from the grants of every access key and user in the same transaction: the next request of a key that could see it no longer can.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await service.remove(actorOf(request), scopeOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/:id/assets',
    {
      config: { access: 'assets:write', account: ACCOUNT_IN_PATH },
      bodyLimit: ASSET_REPLACE_BODY_LIMIT,
      schema: {
        tags: TAGS,
        summary: 'Replace the assets of a cloud account',
        description:
          'For connectors: the body is the account\'s complete inventory, and replaces the previous one atomically (readers see the old set or the new one). An asset is identified by its `resourceId`; one sent again keeps its id, creation time and CVEs; one not sent is removed with its CVEs. When `exposure` is omitted it is derived from the network: a public IP and an inbound rule allowing 0.0.0.0/0 or ::/0 make it "internet-exposed". Bodies up to 16 MiB.',
        params: IdParams,
        body: ReplaceBody,
        response: { 200: ReplaceResultSchema, ...problems(400, 401, 403, 404, 413) },
      },
    },
    async (request) => ctx.assets.replace(actorOf(request), scopeOf(request), request.params.id, request.body.assets as AssetInput[]),
  );
};
