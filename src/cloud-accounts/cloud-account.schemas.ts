import { Type, type TLiteral, type TSchemaOptions, type TUnion } from 'typebox';
import { Timestamp } from '../http/schemas.ts';
import { ACCOUNT_STATUSES, VENDORS } from './cloud-account.ts';

/** A union of string literals that keeps each literal in its static type (a plain `.map` would lose them). */
export function literals<const T extends readonly string[]>(values: T, options: TSchemaOptions = {}): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K] & string> }> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as never;
}

export const VendorSchema = literals(VENDORS, { description: 'The public cloud: aws, azure or gcp.' });
export const AccountStatusSchema = literals(ACCOUNT_STATUSES, { description: 'How the connection to the cloud account is doing.' });

const EXAMPLE = {
  id: 'demo-aws-production',
  vendor: 'aws',
  displayName: 'AWS Production',
  externalId: '123456789012',
  status: 'connected',
  statusDetail: null,
  credentialId: 'demo-cred-aws',
  createdAt: '2026-11-27T12:00:00.000Z',
};

export const CloudAccountSchema = Type.Object(
  {
    id: Type.String(),
    vendor: VendorSchema,
    displayName: Type.String(),
    externalId: Type.String({ description: 'The AWS account id (12 digits), Azure subscription id (GUID) or GCP project id.' }),
    status: AccountStatusSchema,
    statusDetail: Type.Union([Type.String(), Type.Null()], { description: 'What is wrong, when the status is not "connected".' }),
    credentialId: Type.Union([Type.String(), Type.Null()], { description: 'The credential the connector uses (same vendor), if any.' }),
    createdAt: Timestamp('When the account was added.'),
  },
  { examples: [EXAMPLE] },
);
