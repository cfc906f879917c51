import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { VendorSchema } from '../cloud-accounts/cloud-account.schemas.ts';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { IdParams, page, PageQuery, problems } from '../http/schemas.ts';
import { AssetSchema, AssetSummarySchema, AssetTypeSchema, ExposureSchema, NetworkSchema, SeveritySchema } from './asset.schemas.ts';

const ListQuery = Type.Object(
  {
    ...PageQuery,
    accountId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "Only this account's assets (an account outside the scope yields an empty list)." }),
    ),
    vendor: Type.Optional(VendorSchema),
    type: Type.Optional(AssetTypeSchema),
    exposure: Type.Optional(ExposureSchema),
    name: Type.Optional(Type.String({ maxLength: 256, description: 'Assets whose name contains this (case-insensitive).' })),
    cve: Type.Optional(Type.String({ maxLength: 32, description: 'Only assets with this CVE, such as CVE-2021-44228.', examples: ['CVE-2021-44228'] })),
  },
  { additionalProperties: false },
);

const CveInputSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 32, description: 'CVE-YYYY-NNNN (year 1999 or later, at least four digits).' }),
    severity: SeveritySchema,
    cvss: Type.Optional(
      Type.Union([Type.Number({ minimum: 0, maximum: 10 }), Type.Null()], {
        description: "CVSS v3 base score with at most one decimal; must fall in the severity's band (critical 9.0–10, high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9).",
      }),
    ),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
  },
  { additionalProperties: false },
);

const AddCvesBody = Type.Object(
  { cves: Type.Array(CveInputSchema, { minItems: 1, maxItems: 500 }) },
  {
    additionalProperties: false,
    examples: [{ cves: [{ id: 'CVE-2021-44228', severity: 'critical', cvss: 10, description: 'Apache Log4j2 JNDI remote code execution (Log4Shell).' }] }],
  },
);

const CveParams = Type.Object(
  { id: IdParams.properties.id, cveId: Type.String({ minLength: 1, maxLength: 32, description: 'The CVE id.' }) },
  { additionalProperties: false },
);

const TAGS = ['Assets'];

/** Files the request under the asset's cloud account in the key's activity record, and answers the asset. */
function withAccount<T extends { accountId: string }>(request: FastifyRequest, asset: T): T {
  request.activityAccountId = asset.accountId;
  return asset;
}

/** `/api/v1/assets`: the inventory, read inside the caller's account scope; CVEs added by Global Admins. */
export const assetRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const service = ctx.assets;
  const actorOf = (request: FastifyRequest) => ({ name: principalOf(request).actor, ip: request.ip });
  const scopeOf = (request: FastifyRequest) => principalOf(request).scope;

  app.get(
    '/',
    {
      config: { access: 'assets:read', account: { from: 'query', name: 'accountId' } },
      schema: {
        tags: TAGS,
        summary: 'List assets',
        description:
          'Assets of the accounts the caller may see, by name, cursor-paginated. Filters: `accountId`, `vendor`, `type`, `exposure`, `name` (contains) and `cve`; all are applied in the database, together.',
        querystring: ListQuery,
        response: { 200: page(AssetSummarySchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => service.list(scopeOf(request), request.query),
  );

  app.get(
    '/:id',
    {
      config: { access: 'assets:read' },
      schema: {
        tags: TAGS,
        summary: 'Get an asset',
        description: "One asset with its properties, tags, security controls, exposure and CVEs. An asset of an account outside the caller's scope answers 404.",
        params: IdParams,
        response: { 200: AssetSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => withAccount(request, await service.get(scopeOf(request), request.params.id)),
  );

  app.get(
    '/:id/network',
    {
      config: { access: 'assets:read' },
      schema: {
        tags: TAGS,
        summary: "Get an asset's network configuration",
        description: 'The network, subnet, private and public addresses, and the security groups (or NSGs, firewall rules) that apply to the asset.',
        params: IdParams,
        response: { 200: NetworkSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => withAccount(request, await service.network(scopeOf(request), request.params.id)),
  );

  app.post(
    '/:id/cves',
    {
      config: { access: 'cves:write' },
      schema: {
        tags: TAGS,
        summary: 'Add CVEs to an asset',
        description:
          "Records CVE vulnerabilities found on the asset. The id format is checked, and a CVSS score must fall in its severity's band. A CVE already on the asset is updated (its `addedAt` stays). Answers the asset.",
        params: IdParams,
        body: AddCvesBody,
        response: { 200: AssetSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => withAccount(request, await service.addCves(actorOf(request), scopeOf(request), request.params.id, request.body.cves)),
  );

  app.delete(
    '/:id/cves/:cveId',
    {
      config: { access: 'cves:write' },
      schema: {
        tags: TAGS,
        summary: 'Remove a CVE from an asset',
        description: 'For a CVE that was fixed or recorded by mistake.',
        params: CveParams,
        response: { 204: Type.Null({ description: 'Removed.' }), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await service.removeCve(actorOf(request), scopeOf(request), request.params.id, request.params.cveId);
      return reply.code(204).send(null);
    },
  );
};
