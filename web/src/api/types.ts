/**
 * Named shapes of the API, derived from the generated schema (never written by hand).
 */
import type { paths } from './schema';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type AccessKeyPage = Json<paths['/api/v1/access-keys']['get']['responses'][200]>;
export type AccessKey = AccessKeyPage['items'][number];
export type NewAccessKey = Json<paths['/api/v1/access-keys']['post']['responses'][201]>;
export type AccessKeyQuery = NonNullable<paths['/api/v1/access-keys']['get']['parameters']['query']>;
export type CreateAccessKeyBody = Json<NonNullable<paths['/api/v1/access-keys']['post']['requestBody']>>;
export type Grant = AccessKey['roles'][number];
export type Expiration = NonNullable<CreateAccessKeyBody['expiration']>;
export type RolledAccessKey = Json<paths['/api/v1/access-keys/{id}/roll']['post']['responses'][200]>;
export type AccessKeyPolicy = Json<paths['/api/v1/settings/access-key-policy']['get']['responses'][200]>;

export type Session = Json<paths['/api/v1/session']['get']['responses'][200]>;
export type User = Session['user'];

export type UserPage = Json<paths['/api/v1/users']['get']['responses'][200]>;
export type ManagedUser = UserPage['items'][number];
export type InvitedUser = Json<paths['/api/v1/users']['post']['responses'][201]>;
export type UserQuery = NonNullable<paths['/api/v1/users']['get']['parameters']['query']>;
export type AuditPage = Json<paths['/api/v1/audit-events']['get']['responses'][200]>;
export type AuditEvent = AuditPage['items'][number];
export type AuditQuery = NonNullable<paths['/api/v1/audit-events']['get']['parameters']['query']>;

export type CloudAccountPage = Json<paths['/api/v1/cloud-accounts']['get']['responses'][200]>;
export type CloudAccount = CloudAccountPage['items'][number];
export type CloudAccountQuery = NonNullable<paths['/api/v1/cloud-accounts']['get']['parameters']['query']>;
export type CreateCloudAccountBody = Json<NonNullable<paths['/api/v1/cloud-accounts']['post']['requestBody']>>;
export type Credential = Json<paths['/api/v1/credentials']['get']['responses'][200]>['items'][number];
export type CreateCredentialBody = Json<NonNullable<paths['/api/v1/credentials']['post']['requestBody']>>;
export type AssetPage = Json<paths['/api/v1/assets']['get']['responses'][200]>;
export type Asset = AssetPage['items'][number];
export type AssetQuery = NonNullable<paths['/api/v1/assets']['get']['parameters']['query']>;
export type AssetDetail = Json<paths['/api/v1/assets/{id}']['get']['responses'][200]>;
export type AssetNetwork = Json<paths['/api/v1/assets/{id}/network']['get']['responses'][200]>;
export type Policy = Json<paths['/api/v1/policy/rules']['get']['responses'][200]>;
export type PolicyRule = Policy['rules'][number];
export type PolicyRuleInput = Json<NonNullable<paths['/api/v1/policy/rules']['put']['requestBody']>>['rules'][number];
export type Summary = Json<paths['/api/v1/reports/summary']['get']['responses'][200]>;
export type KeyActivity = Json<paths['/api/v1/access-keys/{id}/activity']['get']['responses'][200]>;
export type KeyAdvice = Json<paths['/api/v1/access-keys/{id}/advice']['get']['responses'][200]>;
