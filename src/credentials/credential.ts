import type { Vendor } from '../cloud-accounts/cloud-account.ts';
import { jsonPointer, validationFailed } from '../http/errors.ts';

/** A credential as the API shows it: never a secret value, only which secret fields are set. */
export interface Credential {
  id: string;
  vendor: Vendor;
  displayName: string;
  /** Each secret field of the vendor, and whether it is set. */
  secret: Record<string, boolean>;
  createdAt: string;
  updatedAt: string;
}

/** The secret fields of each vendor, all required. */
export const SECRET_FIELDS: Record<Vendor, readonly string[]> = {
  aws: ['accessKeyId', 'secretAccessKey'],
  azure: ['tenantId', 'applicationId', 'applicationSecret'],
  gcp: ['serviceAccountKey'],
};

export const ALL_SECRET_FIELDS = [...new Set(Object.values(SECRET_FIELDS).flat())];

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
export const SERVICE_ACCOUNT_KEY_MAX_LENGTH = 16 * 1024;

function checkServiceAccountKey(text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw validationFailed('/secret/serviceAccountKey', 'must be the JSON key file of a service account');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw validationFailed('/secret/serviceAccountKey', 'must be the JSON key file of a service account');
  }
  const key = parsed as Record<string, unknown>;
  if (key['type'] !== 'service_account') throw validationFailed('/secret/serviceAccountKey', 'must have "type": "service_account"');
  for (const field of ['project_id', 'client_email', 'private_key'] as const) {
    if (typeof key[field] !== 'string' || key[field] === '') throw validationFailed('/secret/serviceAccountKey', `must have a "${field}"`);
  }
  if (!String(key['private_key']).includes('PRIVATE KEY')) throw validationFailed('/secret/serviceAccountKey', '"private_key" must be a PEM private key');
}

/**
 * Checks the secret fields of a vendor: every field present and well-formed, none of
 * another vendor. Messages name the field, never echo its value.
 */
export function validateSecret(vendor: Vendor, secret: Record<string, string>): Record<string, string> {
  const allowed = SECRET_FIELDS[vendor];
  for (const field of Object.keys(secret)) {
    if (!allowed.includes(field)) throw validationFailed(jsonPointer('secret', field), `is not a field of a ${vendor} credential (expected ${allowed.join(', ')})`);
  }
  for (const field of allowed) {
    if (typeof secret[field] !== 'string' || secret[field] === '') throw validationFailed(jsonPointer('secret', field), 'is required');
  }
  const clean: Record<string, string> = {};
  for (const field of allowed) clean[field] = field === 'serviceAccountKey' ? secret[field]! : secret[field]!.trim();
  switch (vendor) {
    case 'aws':
      if (!/^(AKIA|ASIA)[A-Z0-9]{16}$/.test(clean['accessKeyId']!))
        throw validationFailed('/secret/accessKeyId', 'must be an AWS access key id (AKIA or ASIA and 16 more letters or digits)');
      if (!/^[A-Za-z0-9/+=]{40}$/.test(clean['secretAccessKey']!)) throw validationFailed('/secret/secretAccessKey', 'must be an AWS secret access key (40 characters)');
      break;
    case 'azure':
      if (!GUID.test(clean['tenantId']!)) throw validationFailed('/secret/tenantId', 'must be a GUID (the Azure AD tenant id)');
      if (!GUID.test(clean['applicationId']!)) throw validationFailed('/secret/applicationId', 'must be a GUID (the application (client) id)');
      clean['tenantId'] = clean['tenantId']!.toLowerCase();
      clean['applicationId'] = clean['applicationId']!.toLowerCase();
      if (clean['applicationSecret']!.length > 256 || CONTROL_CHARACTERS.test(clean['applicationSecret']!)) {
        throw validationFailed('/secret/applicationSecret', 'must be at most 256 characters, without control characters');
      }
      break;
    case 'gcp':
      checkServiceAccountKey(clean['serviceAccountKey']!);
      break;
  }
  return clean;
}

/** Which of the vendor's fields are set, as responses show it. */
export function secretPresence(vendor: Vendor, setFields: readonly string[]): Record<string, boolean> {
  return Object.fromEntries(SECRET_FIELDS[vendor].map((field) => [field, setFields.includes(field)]));
}
