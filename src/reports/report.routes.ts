import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import { EXPOSURES, SEVERITIES } from '../assets/asset.ts';
import { ACCOUNT_STATUSES, VENDORS } from '../cloud-accounts/cloud-account.ts';
import type { Context } from '../context.ts';
import { principalOf } from '../http/access-control.ts';
import { problems } from '../http/schemas.ts';

const counts = (keys: readonly string[]) => Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer()])) as Record<string, TSchema>);

const SummarySchema = Type.Object(
  {
    cloudAccounts: Type.Object({ total: Type.Integer(), byVendor: counts(VENDORS), byStatus: counts(ACCOUNT_STATUSES) }),
    assets: Type.Object({ total: Type.Integer(), byVendor: counts(VENDORS), byExposure: counts(EXPOSURES) }),
    cves: Type.Object({
      total: Type.Integer({ description: 'CVE findings: one per CVE per asset.' }),
      bySeverity: counts(SEVERITIES),
      affectedAssets: Type.Integer({ description: 'Assets with at least one CVE.' }),
    }),
  },
  {
    examples: [
      {
        cloudAccounts: { total: 6, byVendor: { aws: 2, azure: 2, gcp: 2 }, byStatus: { connected: 4, 'connected-with-warnings': 1, error: 1 } },
        assets: { total: 360, byVendor: { aws: 140, azure: 110, gcp: 110 }, byExposure: { 'internet-exposed': 41, 'no-internet': 319 } },
        cves: { total: 95, bySeverity: { critical: 12, high: 30, medium: 38, low: 15 }, affectedAssets: 60 },
      },
    ],
  },
);

/** `/api/v1/reports`: counts over the caller's scope only. */
export const reportRoutes: FastifyPluginAsyncTypebox<{ ctx: Context }> = async (app, { ctx }) => {
  app.get(
    '/summary',
    {
      config: { access: 'reports:read' },
      schema: {
        tags: ['Reports'],
        summary: 'Summary of the inventory',
        description:
          "Cloud accounts by vendor and status, assets by vendor and exposure, CVE findings by severity, all counted over what the caller may see: a Cloud Account Viewer's counts cover only its granted accounts.",
        response: { 200: SummarySchema, ...problems(401, 403) },
      },
    },
    async (request) => ctx.reports.summary(principalOf(request).scope),
  );
};
