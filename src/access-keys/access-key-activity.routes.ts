import { existingAccountIds } from '../cloud-accounts/cloud-account.service.ts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GrantSchema, validateGrants } from '../auth/grants.ts';
import { ALL_ACCOUNTS, type Grant } from '../auth/permissions.ts';
import { findCloudAccount } from '../cloud-accounts/cloud-account.public.ts';
import type { Context } from '../context.ts';
import { IdParams, problems, Timestamp } from '../http/schemas.ts';
import type { RouteTable } from '../http/route-table.ts';
import { MAX_ROLES } from '../shared/limits.ts';
import { MAX_ACTIVITY_ITEMS } from '../usage/key-activity.ts';
import { adviseGrants, dryRun, neededRequests, type RecordedRequests } from './access-key-advice.ts';

const Method = Type.String({ description: 'The HTTP method.' });
const Route = Type.String({ description: 'The route template, such as `/api/v1/assets/{id}` (never the URL as sent).' });
const AccountId = Type.Optional(Type.String({ description: "The request's cloud account; absent when it had none." }));

const ActivitySchema = Type.Object(
  {
    items: Type.Array(
      Type.Object({
        method: Method,
        route: Route,
        status: Type.Integer({ description: 'The answer’s HTTP status.' }),
        ip: Type.String({ description: 'The client address.' }),
        accountId: AccountId,
        count: Type.Integer({ description: 'Requests in this group.' }),
        firstSeen: Timestamp('The first of them (all within one hour).'),
        lastSeen: Timestamp('The last of them.'),
      }),
      { description: `Groups by hour, method, route, status, address and account, the latest first; at most ${MAX_ACTIVITY_ITEMS}.` },
    ),
    since: Timestamp('The start of the kept window (`TESSERA_KEY_ACTIVITY_DAYS` days, from the hour).'),
  },
  {
    examples: [
      {
        items: [
          {
            method: 'GET',
            route: '/api/v1/cloud-accounts/{id}',
            status: 200,
            ip: '203.0.113.7',
            accountId: 'demo-aws-production',
            count: 42,
            firstSeen: '2026-12-07T16:02:11.000Z',
            lastSeen: '2026-12-07T16:58:40.000Z',
          },
        ],
        since: '2026-11-07T16:00:00.000Z',
      },
    ],
  },
);

const AdviceSchema = Type.Object(
  {
    suggestedRoles: Type.Array(GrantSchema, { description: 'The smallest roles that would have allowed every successful recorded request; empty when there is none.' }),
    basis: Type.Object({
      days: Type.Integer({ description: 'The days of activity judged.' }),
      requests: Type.Integer({ description: 'The successful requests judged (status below 400).' }),
    }),
  },
  { examples: [{ suggestedRoles: [{ role: 'cloud-account-viewer', accounts: ['demo-aws-production', 'demo-gcp-analytics'] }], basis: { days: 30, requests: 1250 } }] },
);

const DryRunBody = Type.Object(
  { roles: Type.Array(GrantSchema, { minItems: 1, maxItems: MAX_ROLES, description: 'The roles to try.' }) },
  { additionalProperties: false, examples: [{ roles: [{ role: 'cloud-account-viewer', accounts: ['demo-aws-production'] }] }] },
);

const DryRunSchema = Type.Object(
  {
    wouldDeny: Type.Array(Type.Object({ method: Method, route: Route, accountId: AccountId, count: Type.Integer({ description: 'Recorded requests of this kind.' }) }), {
      description: 'The successful recorded requests the roles would have refused (a 403, or a 404 for an account outside their scope).',
    }),
  },
  { examples: [{ wouldDeny: [{ method: 'GET', route: '/api/v1/cloud-accounts/{id}', accountId: 'demo-gcp-analytics', count: 12 }] }] },
);

const TAGS = ['API access keys'];
const access = 'access-keys:manage' as const;

/**
 * `/api/v1/access-keys/{id}/activity`, `/advice` and `/dry-run`: what a key did, and least
 * privilege from it. Global Admin only. The permission each recorded request needed is read
 * from the route table, as the routes declare it.
 */
export const accessKeyActivityRoutes: FastifyPluginAsyncTypebox<{ ctx: Context; routes: RouteTable }> = async (app, { ctx, routes }) => {
  /**
   * The key's successful requests in the window, less those on accounts removed since (they
   * cannot recur, and a role cannot name a removed account). Unknown key: 404.
   */
  async function needsOf(keyId: string): Promise<RecordedRequests[]> {
    await ctx.accessKeys.get(keyId);
    const needed = neededRequests(await ctx.activity.summarize(keyId), routes);
    const named = [...new Set(needed.map((r) => r.accountId).filter((id) => id !== ''))];
    const gone = new Set<string>();
    for (const id of named) if ((await findCloudAccount(ctx.storage.db, id, ALL_ACCOUNTS)) === undefined) gone.add(id);
    return gone.size === 0 ? needed : needed.filter((r) => !gone.has(r.accountId));
  }

  app.get(
    '/:id/activity',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'What an API access key did',
        description:
          "The key's requests grouped by hour, method, route template, status, client address and cloud account, the latest first, kept `TESSERA_KEY_ACTIVITY_DAYS` days (30 by default). Counted in memory and written every ten seconds, so the last few seconds may be missing. The account is that of the path (`/cloud-accounts/{id}`), of the `accountId` filter, or of the asset read, for requests that succeeded; a failed request is filed without one. Requests refused for lack of scope are listed too (403); a request whose token was refused is nobody's.",
        params: IdParams,
        response: { 200: ActivitySchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      await ctx.accessKeys.get(request.params.id);
      const since = ctx.activity.since();
      const groups = await ctx.activity.list(request.params.id, since);
      return {
        since,
        items: groups.map((g) => ({
          method: g.method,
          route: g.route,
          status: g.status,
          ip: g.ip,
          ...(g.accountId === '' ? {} : { accountId: g.accountId }),
          count: g.count,
          firstSeen: g.firstSeen,
          lastSeen: g.lastSeen,
        })),
      };
    },
  );

  app.get(
    '/:id/advice',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Least privilege for an API access key',
        description:
          'The smallest roles that would have allowed every successful request in the recorded activity: a Global Admin key that only read two cloud accounts gets Cloud Account Viewer of those two. Requests that failed (refused, not found, invalid) are not needs, and requests on since-removed accounts are left out. Try the answer with `POST …/dry-run` before applying it with `PATCH`.',
        params: IdParams,
        response: { 200: AdviceSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      const needed = await needsOf(request.params.id);
      return { suggestedRoles: adviseGrants(needed, routes), basis: { days: ctx.activity.days, requests: needed.reduce((sum, r) => sum + r.count, 0) } };
    },
  );

  app.post(
    '/:id/dry-run',
    {
      config: { access },
      schema: {
        tags: TAGS,
        summary: 'Try roles on an API access key’s recorded activity',
        description:
          'Which successful recorded requests the given roles would have refused, by method, route and account, changing nothing. The roles are checked as `PATCH` checks them (an unknown account: 400).',
        params: IdParams,
        body: DryRunBody,
        response: { 200: DryRunSchema, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const needed = await needsOf(request.params.id);
      const roles = await validateGrants(ctx.storage.db, request.body.roles as Grant[], existingAccountIds);
      return { wouldDeny: dryRun(needed, roles, routes) };
    },
  );
};
