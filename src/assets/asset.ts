import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { Vendor } from '../cloud-accounts/cloud-account.ts';
import { validationFailed } from '../http/errors.ts';

export const ASSET_TYPES = [
  'virtual-machine',
  'container-cluster',
  'database',
  'storage-bucket',
  'load-balancer',
  'serverless-function',
  'virtual-network',
  'security-group',
] as const;
export type AssetType = (typeof ASSET_TYPES)[number];

export const EXPOSURES = ['internet-exposed', 'no-internet'] as const;
export type Exposure = (typeof EXPOSURES)[number];

export const CONTROL_STATUSES = ['enabled', 'disabled', 'misconfigured'] as const;
export interface SecurityControl {
  name: string;
  status: (typeof CONTROL_STATUSES)[number];
  detail: string | null;
}

export const PROTOCOLS = ['tcp', 'udp', 'icmp', 'any'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface FirewallRule {
  direction: 'inbound' | 'outbound';
  action: 'allow' | 'deny';
  protocol: Protocol;
  /** `any`, a port (`443`) or a range (`8000-8080`). */
  ports: string;
  /** The remote side: a CIDR (`0.0.0.0/0` is the internet). */
  cidr: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  rules: FirewallRule[];
}

/** Where an asset sits on the network and what may reach it. */
export interface NetworkConfig {
  networkId: string | null;
  subnetId: string | null;
  privateIps: string[];
  publicIps: string[];
  securityGroups: SecurityGroup[];
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Cve {
  id: string;
  severity: Severity;
  /** CVSS v3 base score, 0.0–10.0, when known. */
  cvss: number | null;
  description: string | null;
  addedAt: string;
}

export type PropertyValue = string | number | boolean | null;

/** An asset as the list shows it. */
export interface AssetSummary {
  id: string;
  accountId: string;
  vendor: Vendor;
  resourceId: string;
  type: AssetType;
  name: string;
  region: string;
  exposure: Exposure;
  tags: Record<string, string>;
  cveCount: number;
  createdAt: string;
  updatedAt: string;
}

/** One asset with everything the console shows on its page. */
export interface Asset extends Omit<AssetSummary, 'cveCount'> {
  properties: Record<string, PropertyValue>;
  securityControls: SecurityControl[];
  cves: Cve[];
}

/** What a connector sends for one asset. */
export interface AssetInput {
  resourceId: string;
  type: AssetType;
  name: string;
  region: string;
  exposure?: Exposure | undefined;
  tags?: Record<string, string> | undefined;
  properties?: Record<string, PropertyValue> | undefined;
  securityControls?: { name: string; status: SecurityControl['status']; detail?: string | null | undefined }[] | undefined;
  network?: Partial<NetworkConfig> | undefined;
}

/**
 * An asset's id: derived from its account and the vendor's resource id, so that a connector
 * re-sending the same resource keeps the same id (and its CVEs) across replacements.
 */
export function assetIdFor(accountId: string, resourceId: string): string {
  return 'ast-' + createHash('sha256').update(`${accountId}\n${resourceId}`, 'utf8').digest('hex').slice(0, 24);
}

/** A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a bare address. */
export function isCidr(text: string): boolean {
  const [address, prefix, extra] = text.split('/');
  if (address === undefined || extra !== undefined) return false;
  const v4 = isIPv4(address);
  if (!v4 && !isIPv6(address)) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}

/** `any`, a port 1–65535, or an ascending range of them. */
export function isPortSpec(text: string): boolean {
  if (text === 'any') return true;
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (match === null) return false;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  return from >= 1 && to <= 65535 && from <= to;
}

const INTERNET = new Set(['0.0.0.0/0', '::/0']);

/** Exposure when the connector does not say: a public address and an inbound rule open to the internet. */
export function deriveExposure(network: NetworkConfig): Exposure {
  const open = network.securityGroups.some((g) => g.rules.some((r) => r.direction === 'inbound' && r.action === 'allow' && INTERNET.has(r.cidr)));
  return network.publicIps.length > 0 && open ? 'internet-exposed' : 'no-internet';
}

/** Checks the parts of an asset JSON Schema cannot (addresses, ports, duplicates); returns its network. */
export function normalizeNetwork(network: Partial<NetworkConfig> | undefined, pointer: string): NetworkConfig {
  const result: NetworkConfig = {
    networkId: network?.networkId ?? null,
    subnetId: network?.subnetId ?? null,
    privateIps: network?.privateIps ?? [],
    publicIps: network?.publicIps ?? [],
    securityGroups: (network?.securityGroups ?? []).map((g) => ({ id: g.id, name: g.name, rules: g.rules.map((r) => ({ ...r })) })),
  };
  for (const [name, ips] of [
    ['privateIps', result.privateIps],
    ['publicIps', result.publicIps],
  ] as const) {
    ips.forEach((ip, i) => {
      if (!isIPv4(ip) && !isIPv6(ip)) throw validationFailed(`${pointer}/network/${name}/${i}`, 'is not an IP address');
    });
  }
  result.securityGroups.forEach((group, g) => {
    group.rules.forEach((rule, r) => {
      const at = `${pointer}/network/securityGroups/${g}/rules/${r}`;
      if (!isCidr(rule.cidr)) throw validationFailed(`${at}/cidr`, 'is not a CIDR block');
      if (!isPortSpec(rule.ports)) throw validationFailed(`${at}/ports`, 'must be "any", a port 1–65535 or a range such as 8000-8080');
      if ((rule.protocol === 'icmp' || rule.protocol === 'any') && rule.ports !== 'any')
        throw validationFailed(`${at}/ports`, `must be "any" for protocol ${rule.protocol}`);
    });
  });
  return result;
}

export const CVE_ID = /^CVE-(\d{4})-(\d{4,19})$/;

/** The severity band of a CVSS v3 base score. */
export function severityOfScore(score: number): Severity | 'none' {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'none';
}

/** Checks a CVE: the MITRE id format, and a CVSS score (if any) in the band of its severity. */
export function normalizeCve(input: { id: string; severity: Severity; cvss?: number | null | undefined; description?: string | null | undefined }, pointer: string) {
  const id = input.id.trim().toUpperCase();
  const match = CVE_ID.exec(id);
  if (match === null || Number(match[1]) < 1999)
    throw validationFailed(`${pointer}/id`, 'must be a CVE id such as CVE-2021-44228 (year 1999 or later, then at least 4 digits)');
  if (match[2]!.length > 4 && match[2]!.startsWith('0')) throw validationFailed(`${pointer}/id`, 'must not pad a sequence number of 5 digits or more with zeros');
  let cvssTenths: number | null = null;
  if (input.cvss !== undefined && input.cvss !== null) {
    const tenths = Math.round(input.cvss * 10);
    if (Math.abs(tenths - input.cvss * 10) > 1e-9) throw validationFailed(`${pointer}/cvss`, 'must have at most one decimal');
    const band = severityOfScore(input.cvss);
    if (band !== input.severity) throw validationFailed(`${pointer}/cvss`, `a score of ${input.cvss} is ${band}, not ${input.severity}`);
    cvssTenths = tenths;
  }
  const description = input.description?.trim() || null;
  return { id, severity: input.severity, cvssTenths, description };
}
