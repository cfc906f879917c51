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

export type Session = Json<paths['/api/v1/session']['get']['responses'][200]>;
export type User = Session['user'];

export type UserPage = Json<paths['/api/v1/users']['get']['responses'][200]>;
export type ManagedUser = UserPage['items'][number];
export type InvitedUser = Json<paths['/api/v1/users']['post']['responses'][201]>;
export type UserQuery = NonNullable<paths['/api/v1/users']['get']['parameters']['query']>;
export type AuditPage = Json<paths['/api/v1/audit-events']['get']['responses'][200]>;
export type AuditEvent = AuditPage['items'][number];
export type AuditQuery = NonNullable<paths['/api/v1/audit-events']['get']['parameters']['query']>;
