import { validationFailed } from '../http/errors.ts';
import { codePointLength, DISPLAY_NAME_MAX_LENGTH } from '../shared/limits.ts';

/** The public clouds the console connects to. */
export const VENDORS = ['aws', 'azure', 'gcp'] as const;
export type Vendor = (typeof VENDORS)[number];

export const ACCOUNT_STATUSES = ['connected', 'connected-with-warnings', 'error'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** A cloud account as the API shows it. */
export interface CloudAccount {
  id: string;
  vendor: Vendor;
  displayName: string;
  externalId: string;
  status: AccountStatus;
  statusDetail: string | null;
  credentialId: string | null;
  createdAt: string;
}

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** What each vendor calls the external id, and its format. */
export const EXTERNAL_ID_RULES: Record<Vendor, { label: string; pattern: RegExp; hint: string }> = {
  aws: { label: 'AWS account id', pattern: /^\d{12}$/, hint: 'an AWS account id is 12 digits' },
  azure: {
    label: 'Azure subscription id',
    pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    hint: 'an Azure subscription id is a GUID such as 0b1f6471-1bf0-4dda-aec3-cb9272f09590',
  },
  gcp: {
    label: 'GCP project id',
    pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
    hint: 'a GCP project id is 6–30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen',
  },
};

/** Normalizes and checks an external id for its vendor (Azure GUIDs are compared in lowercase). */
export function normalizeExternalId(vendor: Vendor, raw: string): string {
  const value = vendor === 'azure' ? raw.trim().toLowerCase() : raw.trim();
  if (!EXTERNAL_ID_RULES[vendor].pattern.test(value)) throw validationFailed('/externalId', `is not valid: ${EXTERNAL_ID_RULES[vendor].hint}`);
  return value;
}

/** Trims a display name and checks it: 1–100 characters, no control characters. */
export function normalizeDisplayName(raw: string, pointer = '/displayName'): string {
  const name = raw.normalize('NFC').trim();
  if (name.length === 0) throw validationFailed(pointer, 'must not be empty');
  if (codePointLength(name) > DISPLAY_NAME_MAX_LENGTH) throw validationFailed(pointer, `must be at most ${DISPLAY_NAME_MAX_LENGTH} characters`);
  if (CONTROL_CHARACTERS.test(name)) throw validationFailed(pointer, 'must not contain control characters');
  return name;
}
