import { Type } from 'typebox';
import { literals as union, VendorSchema } from '../cloud-accounts/cloud-account.schemas.ts';
import { Timestamp } from '../http/schemas.ts';
import { ASSET_TYPES, CONTROL_STATUSES, EXPOSURES, PROTOCOLS, SEVERITIES } from './asset.ts';

const literals = <const T extends readonly string[]>(values: T, description: string) => union(values, { description });

export const AssetTypeSchema = literals(ASSET_TYPES, 'The kind of resource.');
export const ExposureSchema = literals(EXPOSURES, '"internet-exposed": reachable from the internet.');
export const SeveritySchema = literals(SEVERITIES, "The CVE's severity (CVSS v3 band).");

const Tags = Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.String({ maxLength: 256 }), { maxProperties: 50, description: 'Cloud tags / labels.' });
const Properties = Type.Record(
  Type.String({ minLength: 1, maxLength: 128 }),
  Type.Union([Type.String({ maxLength: 2048 }), Type.Number(), Type.Boolean(), Type.Null()]),
  { maxProperties: 100, description: 'Vendor properties (instance type, engine version, …): flat values only.' },
);

export const SecurityControlSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, description: 'For example "encryption-at-rest" or "mfa-delete".' }),
    status: literals(CONTROL_STATUSES, 'Whether the control is in place.'),
    detail: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false },
);

const FirewallRuleSchema = Type.Object(
  {
    direction: literals(['inbound', 'outbound'], 'Traffic to the asset, or from it.'),
    action: literals(['allow', 'deny'], 'What the rule does.'),
    protocol: literals(PROTOCOLS, 'IP protocol.'),
    ports: Type.String({ maxLength: 11, description: '"any", a port, or a range such as "8000-8080".' }),
    cidr: Type.String({ maxLength: 64, description: 'The remote side; 0.0.0.0/0 or ::/0 is the internet.' }),
  },
  { additionalProperties: false },
);

const SecurityGroupSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 256 }),
    name: Type.String({ maxLength: 256 }),
    rules: Type.Array(FirewallRuleSchema, { maxItems: 200 }),
  },
  { additionalProperties: false },
);

const Ip = Type.String({ maxLength: 45 });

export const NetworkInputSchema = Type.Object(
  {
    networkId: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()], { description: 'VPC, VNet or VPC network.' })),
    subnetId: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    privateIps: Type.Optional(Type.Array(Ip, { maxItems: 64 })),
    publicIps: Type.Optional(Type.Array(Ip, { maxItems: 64 })),
    securityGroups: Type.Optional(Type.Array(SecurityGroupSchema, { maxItems: 32, description: 'Security groups, NSGs or firewall rules that apply.' })),
  },
  { additionalProperties: false },
);

export const NetworkSchema = Type.Object(
  {
    assetId: Type.String(),
    accountId: Type.String(),
    networkId: Type.Union([Type.String(), Type.Null()]),
    subnetId: Type.Union([Type.String(), Type.Null()]),
    privateIps: Type.Array(Type.String()),
    publicIps: Type.Array(Type.String()),
    securityGroups: Type.Array(SecurityGroupSchema),
  },
  {
    examples: [
      {
        assetId: 'ast-5d1c0e6f3b2a4c9d8e7f6a5b',
        accountId: 'demo-aws-production',
        networkId: 'vpc-0f3a2b1c',
        subnetId: 'subnet-0a1b2c3d',
        privateIps: ['10.0.1.10'],
        publicIps: ['203.0.113.10'],
        securityGroups: [{ id: 'sg-0123abcd', name: 'web', rules: [{ direction: 'inbound', action: 'allow', protocol: 'tcp', ports: '443', cidr: '0.0.0.0/0' }] }],
      },
    ],
  },
);

export const AssetInputSchema = Type.Object(
  {
    resourceId: Type.String({
      minLength: 1,
      maxLength: 512,
      description: "The vendor's id of the resource (instance id, ARN, resource id…); unique within the account.",
    }),
    type: AssetTypeSchema,
    name: Type.String({ maxLength: 256 }),
    region: Type.String({ minLength: 1, maxLength: 64 }),
    exposure: Type.Optional(ExposureSchema),
    tags: Type.Optional(Tags),
    properties: Type.Optional(Properties),
    securityControls: Type.Optional(Type.Array(SecurityControlSchema, { maxItems: 50 })),
    network: Type.Optional(NetworkInputSchema),
  },
  { additionalProperties: false },
);

export const ReplaceResultSchema = Type.Object(
  {
    accountId: Type.String(),
    assets: Type.Integer({ description: 'Assets the account now has.' }),
    added: Type.Integer(),
    updated: Type.Integer(),
    removed: Type.Integer(),
  },
  { examples: [{ accountId: 'demo-aws-production', assets: 120, added: 3, updated: 117, removed: 2 }] },
);

export const CveSchema = Type.Object({
  id: Type.String({ description: 'The CVE id, such as CVE-2021-44228.' }),
  severity: SeveritySchema,
  cvss: Type.Union([Type.Number(), Type.Null()], { description: 'CVSS v3 base score, when known.' }),
  description: Type.Union([Type.String(), Type.Null()]),
  addedAt: Timestamp('When the CVE was first recorded on this asset.'),
});

const summaryProperties = {
  id: Type.String(),
  accountId: Type.String(),
  vendor: VendorSchema,
  resourceId: Type.String(),
  type: AssetTypeSchema,
  name: Type.String(),
  region: Type.String(),
  exposure: ExposureSchema,
  tags: Type.Record(Type.String(), Type.String()),
  createdAt: Timestamp('When the asset first appeared in the inventory.'),
  updatedAt: Timestamp('The last inventory that included it.'),
};

const EXAMPLE_SUMMARY = {
  id: 'ast-5d1c0e6f3b2a4c9d8e7f6a5b',
  accountId: 'demo-aws-production',
  vendor: 'aws',
  resourceId: 'i-0a1b2c3d4e5f60718',
  type: 'virtual-machine',
  name: 'web-1',
  region: 'us-east-1',
  exposure: 'internet-exposed',
  tags: { env: 'production' },
  createdAt: '2026-11-27T12:00:00.000Z',
  updatedAt: '2026-11-27T12:00:00.000Z',
};

export const AssetSummarySchema = Type.Object(
  { ...summaryProperties, cveCount: Type.Integer({ description: 'CVEs recorded on the asset.' }) },
  { examples: [{ ...EXAMPLE_SUMMARY, cveCount: 2 }] },
);

export const AssetSchema = Type.Object(
  {
    ...summaryProperties,
    properties: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
    securityControls: Type.Array(Type.Object({ name: Type.String(), status: Type.String(), detail: Type.Union([Type.String(), Type.Null()]) })),
    cves: Type.Array(CveSchema, { description: 'Most severe first, then highest score.' }),
  },
  {
    examples: [
      {
        ...EXAMPLE_SUMMARY,
        properties: { instanceType: 't3.medium', image: 'ami-0abcdef1234567890' },
        securityControls: [{ name: 'disk-encryption', status: 'enabled', detail: null }],
        cves: [
          {
            id: 'CVE-2021-44228',
            severity: 'critical',
            cvss: 10,
            description: 'Apache Log4j2 JNDI remote code execution (Log4Shell).',
            addedAt: '2026-11-27T12:00:00.000Z',
          },
        ],
      },
    ],
  },
);
