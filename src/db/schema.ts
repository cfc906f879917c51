import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The tables, as Kysely sees them. Times are ISO 8601 UTC strings (fixed width, so they
 * sort as text on both dialects); booleans are 0/1 integers. Grants are rows (access_key_grants,
 * user_grants; see src/auth/grants.ts).
 */
export interface Database {
  signing_keys: SigningKeyTable;
  access_keys: AccessKeyTable;
  access_key_grants: AccessKeyGrantTable;
  user_grants: UserGrantTable;
  cloud_accounts: CloudAccountTable;
  users: UserTable;
  audit_events: AuditEventTable;
  sessions: SessionTable;
  invitations: InvitationTable;
  job_runs: JobRunTable;
  credentials: CredentialTable;
  assets: AssetTable;
  asset_cves: AssetCveTable;
  policy_rules: PolicyRuleTable;
  change_sequence: ChangeSequenceTable;
  instances: InstanceTable;
  settings: SettingTable;
  webhooks: WebhookTable;
  webhook_subscriptions: WebhookSubscriptionTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptTable;
  access_key_expiry_notices: AccessKeyExpiryNoticeTable;
  access_key_activity: AccessKeyActivityTable;
}

export interface SigningKeyTable {
  kid: string;
  public_jwk: string;
  /** The private JWK, AES-256-GCM encrypted with a key derived from the instance secret. */
  private_jwk_encrypted: string;
  created_at: string;
}

export interface AccessKeyTable {
  id: string;
  name: string;
  /** `name` folded for the case-insensitive unique index. */
  name_key: string;
  /**
   * The set of roles the key holds, as its position in ROLE_SETS (src/auth/grants.ts): the
   * list's role sort and role filter. Written with the key's grants, never on its own.
   */
  role_set: number;
  created_at: string;
  expires_at: string;
  /** Hex SHA-256 of the issued token; the token itself is never stored. */
  token_hash: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  use_count: Generated<number>;
  description: string | null;
  /** Who created the key, as the audit log names actors (`user@example.com`, `key:ci-bot`, `cli`). */
  created_by: string | null;
  /** The expiration the key was created (or last rolled) with: a preset, or `days:N`; null for keys from before it was kept. */
  expiration: string | null;
  /** When the key was disabled; null while it is enabled. */
  disabled_at: string | null;
  /** Why: `manual` (by an admin) or `dormant` (unused beyond the policy's limit). */
  disabled_reason: string | null;
  /** After a roll with a grace period: the replaced token's hash, valid until `previous_token_expires_at`. */
  previous_token_hash: string | null;
  previous_token_expires_at: string | null;
  /** When the key was last enabled or rolled: dormancy counts from the latest of this, its last use and its creation. */
  reactivated_at: string | null;
  /** The network allowlist: JSON array of canonical addresses and CIDR ranges; null for any address. */
  allowed_cidrs: string | null;
  /** The key's rate limit (both null: none): at most this many requests per window of `rate_limit_per_seconds`. */
  rate_limit_requests: number | null;
  rate_limit_per_seconds: number | null;
}

/**
 * One role a holder has (its head row: `account_id` null), or one account a Cloud Account
 * Viewer limited to a list may see (`account_id` set, `all_accounts` 0).
 */
interface GrantColumns {
  role: string;
  /** 1: the role covers every cloud account (Global roles; a Cloud Account Viewer of "all"). */
  all_accounts: number;
  account_id: string | null;
}

export interface AccessKeyGrantTable extends GrantColumns {
  key_id: string;
}

export interface UserGrantTable extends GrantColumns {
  user_id: string;
}

export interface CloudAccountTable {
  id: string;
  vendor: string;
  display_name: string;
  external_id: string;
  status: string;
  status_detail: string | null;
  credential_id: string | null;
  created_at: string;
}

export interface UserTable {
  id: string;
  email: string;
  email_key: string;
  display_name: string;
  status: string;
  is_primary: number;
  password_hash: string | null;
  created_at: string;
  last_sign_in_at: string | null;
  /** User tokens issued before this time (whole seconds) are revoked; null: none revoked. */
  tokens_valid_after: string | null;
  /** 1 while the password is one Tessera generated (printed once); any change clears it. */
  password_generated: Generated<number>;
}

export interface AuditEventTable {
  id: string;
  at: string;
  actor: string;
  actor_ip: string | null;
  category: string;
  resource: string;
  resource_id: string | null;
  action: string;
  detail: string;
}

/** A signed-in console session; the cookie holds the secret, this table only its hash. */
export interface SessionTable {
  id_hash: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  /** The absolute end of the session, whatever its activity. */
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
}

/** A pending user's invitation link; the link holds the token, this table only its hash. */
export interface InvitationTable {
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
}

/** A cloud credential; the vendor fields are sealed (SecretBox, purpose "credential"). */
export interface CredentialTable {
  id: string;
  vendor: string;
  display_name: string;
  secret_sealed: string;
  /** JSON array of the names of the secret fields that are set. */
  secret_fields: string;
  created_at: string;
  updated_at: string;
}

/** An asset of a cloud account; tags, properties, security controls and network are JSON text. */
export interface AssetTable {
  id: string;
  account_id: string;
  vendor: string;
  resource_id: string;
  type: string;
  name: string;
  region: string;
  exposure: string;
  tags: string;
  properties: string;
  security_controls: string;
  network: string;
  created_at: string;
  updated_at: string;
}

export interface AssetCveTable {
  asset_id: string;
  cve_id: string;
  severity: string;
  /** CVSS base score in tenths (9.8 -> 98). */
  cvss_tenths: number | null;
  description: string | null;
  added_at: string;
}

export interface PolicyRuleTable {
  id: string;
  position: number;
  name: string;
  description: string;
  action: string;
  protocol: string;
  source: string;
  destination: string;
  /** JSON array of port specs. */
  ports: string;
  enabled: number;
  updated_at: string;
}

export type AccessKeyRow = Selectable<AccessKeyTable>;
export type NewAccessKeyRow = Insertable<AccessKeyTable>;
export type AccessKeyRowUpdate = Updateable<AccessKeyTable>;
export type CloudAccountRow = Selectable<CloudAccountTable>;
export type UserRow = Selectable<UserTable>;
export type SigningKeyRow = Selectable<SigningKeyTable>;
export type AuditEventRow = Selectable<AuditEventTable>;
export type SessionRow = Selectable<SessionTable>;
export type InvitationRow = Selectable<InvitationTable>;
export type CredentialRow = Selectable<CredentialTable>;
export type AssetRow = Selectable<AssetTable>;
export type AssetCveRow = Selectable<AssetCveTable>;
export type PolicyRuleRow = Selectable<PolicyRuleTable>;

/** When a cluster-wide periodic job last ran (src/jobs/scheduler.ts). */
export interface JobRunTable {
  name: string;
  last_started_at: string;
  last_finished_at: string | null;
  /** 'running', 'ok' or 'failed'. */
  last_status: string;
  /** Which instance ran it (host:pid). */
  last_instance: string;
}

/**
 * PostgreSQL only (src/changes/instances.ts): one row (`id` 1) counting the access-reducing writes;
 * each bumps it in its transaction and names the number in its NOTIFY.
 */
export interface ChangeSequenceTable {
  id: number;
  seq: number;
}

/** PostgreSQL only: each running server instance, alive while its heartbeat is recent. */
export interface InstanceTable {
  id: string;
  host: string;
  pid: number;
  started_at: Generated<Date>;
  heartbeat_at: Generated<Date>;
  /** The highest `change_sequence` number this instance has applied to its caches. */
  applied_seq: number;
}

/** An instance-wide setting: JSON text by name (`access-key-policy`). */
export interface SettingTable {
  name: string;
  value: string;
  updated_at: string;
}
/** A webhook endpoint; its whsec_ secret is sealed (SecretBox, purpose "webhook-secret"). */
export interface WebhookTable {
  id: string;
  url: string;
  description: string | null;
  secret_sealed: string;
  created_at: string;
  updated_at: string;
}

/** One event type a webhook receives. */
export interface WebhookSubscriptionTable {
  event_type: string;
  webhook_id: string;
}

/** The outbox: one event for one webhook, written in the transaction of the change. */
export interface WebhookDeliveryTable {
  webhook_id: string;
  /** The webhook-id header, the same on every attempt. */
  id: string;
  event_type: string;
  /** The exact JSON body sent (and signed) on every attempt. */
  payload: string;
  created_at: string;
  /** 'pending', 'delivered' or 'failed'. */
  status: string;
  attempt_count: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  delivered_at: string | null;
}

/** One attempt to deliver; `status_code` null when no answer came (`error` says why). */
export interface WebhookDeliveryAttemptTable {
  webhook_id: string;
  delivery_id: string;
  attempt: number;
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** What the expiry job announced for a key, for the expiry it had then. */
export interface AccessKeyExpiryNoticeTable {
  key_id: string;
  expires_at: string;
  /** The smallest warning threshold (days) sent; null: none yet. */
  warned_days: number | null;
  /** 1 once access_key.expired was sent. */
  expired_sent: number;
}

export type WebhookRow = Selectable<WebhookTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveryTable>;
export type WebhookDeliveryAttemptRow = Selectable<WebhookDeliveryAttemptTable>;

/** An access key's requests in one hour with one route template, status, address and account. */
export interface AccessKeyActivityTable {
  key_id: string;
  /** The hour's start, ISO 8601 UTC (`2026-12-07T16:00:00.000Z`). */
  hour: string;
  method: string;
  /** The route template (`/api/v1/assets/{id}`), never the request's URL. */
  route: string;
  status: number;
  ip: string;
  /** The request's cloud account, or '' when it had none. */
  account_id: string;
  count: number;
  first_seen: string;
  last_seen: string;
}
