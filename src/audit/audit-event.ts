/** One entry of the audit log, as recorded in the same transaction as the change it describes. */
export interface AuditEntry {
  category: AuditCategory;
  resource: string;
  resourceId: string | null;
  action: AuditAction;
  /** What changed. Never a secret, token, hash or password. */
  detail: Record<string, unknown>;
}

export const AUDIT_CATEGORIES = [
  'access-keys',
  'users',
  'invitations',
  'session',
  'cloud-accounts',
  'credentials',
  'assets',
  'policy',
  'cves',
  'signing-keys',
  'settings',
  'webhooks',
] as const;
export type AuditCategory = (typeof AUDIT_CATEGORIES)[number];

export const AUDIT_ACTIONS = [
  'add',
  'edit',
  'delete',
  'sign-in',
  'sign-in-failed',
  'sign-out',
  'accept',
  'rotate',
  'replace',
  'roll',
  'disable',
  'enable',
  'leak',
  'ip-not-allowed',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent extends AuditEntry {
  id: string;
  at: string;
  actor: string;
  actorIp: string | null;
}
