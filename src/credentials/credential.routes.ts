import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { VendorSchema } from '../cloud-accounts/cloud-account.schemas.ts';
import { DISPLAY_NAME_MAX_LENGTH } from '../shared/limits.ts';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { IdParams, page, PageQuery, problems, Timestamp } from '../http/schemas.ts';
import { SERVICE_ACCOUNT_KEY_MAX_LENGTH } from './credential.ts';

const SecretInput = Type.Object(
  {
    accessKeyId: Type.Optional(Type.String({ maxLength: 128, description: 'AWS: the access key id (AKIA… or ASIA…).' })),
    secretAccessKey: Type.Optional(Type.String({ maxLength: 128, description: 'AWS: the secret access key (40 characters).' })),
    tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'Azure: the directory (tenant) id.' })),
    applicationId: Type.Optional(Type.String({ maxLength: 64, description: 'Azure: the application (client) id.' })),
    applicationSecret: Type.Optional(Type.String({ maxLength: 256, description: "Azure: the application's client secret." })),
    serviceAccountKey: Type.Optional(Type.String({ maxLength: SERVICE_ACCOUNT_KEY_MAX_LENGTH, description: "GCP: the service account's JSON key file, as a string." })),
  },
  { additionalProperties: false, description: "The vendor's fields. Write-only: never returned." },
);

const SecretPresence = Type.Record(Type.String(), Type.Boolean(), { description: 'Each secret field of the vendor, and whether it is set. Values are never returned.' });

export const CredentialSchema = Type.Object(
  {
    id: Type.String(),
    vendor: VendorSchema,
    displayName: Type.String(),
    secret: SecretPresence,
    createdAt: Timestamp('When the credential was added.'),
    updatedAt: Timestamp('When it last changed.'),
  },
  {
    examples: [
      {
        id: 'demo-cred-aws',
        vendor: 'aws',
        displayName: 'AWS connector',
        secret: { accessKeyId: true, secretAccessKey: true },
        createdAt: '2026-11-27T12:00:00.000Z',
        updatedAt: '2026-11-27T12:00:00.000Z',
      },
    ],
  },
);

const DisplayName = Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX_LENGTH * 4, description: '1–100 characters once trimmed.' });

const CreateBody = Type.Object(
  { vendor: VendorSchema, displayName: DisplayName, secret: SecretInput },
  {
    additionalProperties: false,
    description:
      "AWS: `accessKeyId` + `secretAccessKey`. Azure: `tenantId` + `applicationId` + `applicationSecret`. GCP: `serviceAccountKey`. All of the vendor's fields are required; another vendor's are refused.",
    examples: [
      {
        vendor: 'aws',
        displayName: 'AWS read-only connector',
        secret: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      },
      {
        vendor: 'azure',
        displayName: 'Azure reader',
        secret: { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', applicationId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590', applicationSecret: 'example~secret' },
      },
    ],
  },
);

const EditBody = Type.Object(
  { displayName: Type.Optional(DisplayName), secret: Type.Optional(SecretInput) },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'The vendor cannot change. `secret` replaces only the fields it names (to rotate one secret, send just that field).',
    examples: [{ secret: { secretAccessKey: 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY' } }],
  },
);

const ListQuery = Type.Object({ ...PageQuery, vendor: Type.Optional(VendorSchema) }, { additionalProperties: false });

const TAGS = ['Credentials'];

/** `/api/v1/credentials`: cloud credentials; secrets are write-only. */
export const credentialRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  const service = ctx.credentials;
  const actorOf = (request: FastifyRequest) => ({ name: principalOf(request).actor, ip: request.ip });

  app.get(
    '/',
    {
      config: { access: 'credentials:read' },
      schema: {
        tags: TAGS,
        summary: 'List credentials',
        description: 'By display name, cursor-paginated; filter by `vendor`. Shows which secret fields are set, never their values.',
        querystring: ListQuery,
        response: { 200: page(CredentialSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => service.list(request.query),
  );

  app.post(
    '/',
    {
      config: { access: 'credentials:write' },
      schema: {
        tags: TAGS,
        summary: 'Add a credential',
        description:
          "Stores the vendor's secret fields encrypted at rest (AES-256-GCM under the instance secret). The answer, like every later one, only says which fields are set.",
        body: CreateBody,
        response: { 201: CredentialSchema, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return service.create(actorOf(request), {
        vendor: request.body.vendor,
        displayName: request.body.displayName,
        secret: request.body.secret as Record<string, string>,
      });
    },
  );

  app.get(
    '/:id',
    {
      config: { access: 'credentials:read' },
      schema: {
        tags: TAGS,
        summary: 'Get a credential',
        description: 'One credential, without its secret values.',
        params: IdParams,
        response: { 200: CredentialSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => service.get(request.params.id),
  );

  app.patch(
    '/:id',
    {
      config: { access: 'credentials:write' },
      schema: {
        tags: TAGS,
        summary: 'Edit a credential',
        description: 'Renames it, or replaces some or all of its secret fields (the result is validated as a whole).',
        params: IdParams,
        body: EditBody,
        response: { 200: CredentialSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) =>
      service.edit(actorOf(request), request.params.id, { displayName: request.body.displayName, secret: request.body.secret as Record<string, string> | undefined }),
  );

  app.delete(
    '/:id',
    {
      config: { access: 'credentials:write' },
      schema: {
        tags: TAGS,
        summary: 'Delete a credential',
        description: 'Refused (409) while a cloud account uses it: detach it from those accounts first.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await service.remove(actorOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
