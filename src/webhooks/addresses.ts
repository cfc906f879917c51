import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook must not reach unless TESSERA_WEBHOOK_ALLOW_PRIVATE=true: this machine,
 * private networks, link-local (cloud metadata services live at 169.254.169.254), and the
 * ranges that are not unicast on the internet.
 */
const REFUSED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const) {
  REFUSED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
] as const) {
  REFUSED.addSubnet(network, prefix, 'ipv6');
}

/** The IPv4 address an IPv6 address carries (mapped, NAT64 or 6to4), if it carries one. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted !== null) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex !== null) return hexToIpv4(hex[1]!, hex[2]!);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  if (sixToFour !== null) return hexToIpv4(sixToFour[1]!, sixToFour[2]!);
  return undefined;
}

function hexToIpv4(high: string, low: string): string {
  const h = Number.parseInt(high, 16);
  const l = Number.parseInt(low, 16);
  return `${h >> 8}.${h & 0xff}.${l >> 8}.${l & 0xff}`;
}

/** True for a loopback, private, link-local or otherwise non-public address (IPv4 or IPv6). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return REFUSED.check(address, 'ipv4');
  if (family !== 6) return true;
  const inner = embeddedIpv4(address);
  if (inner !== undefined) return REFUSED.check(inner, 'ipv4');
  return REFUSED.check(address, 'ipv6');
}

/** The address a URL's host names literally (`[::1]` without its brackets), or undefined for a name. */
export function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? undefined : bare;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Raised when a host resolves to an address webhooks may not reach. */
export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError';
}

/**
 * Resolves a host (a name or a literal address) and returns the address to connect to. Unless
 * `allowPrivate`, a host any of whose addresses is private is refused as a whole: a name that
 * answers with a public and a private address could be steered to the private one.
 */
export async function resolveWebhookHost(hostname: string, allowPrivate: boolean): Promise<ResolvedAddress> {
  const literal = literalAddress(hostname);
  const found: ResolvedAddress[] =
    literal !== undefined
      ? [{ address: literal, family: isIP(literal) as 4 | 6 }]
      : (await lookup(hostname, { all: true, verbatim: true })).map((entry) => ({ address: entry.address, family: entry.family as 4 | 6 }));
  if (found.length === 0) throw new Error(`${hostname} has no address`);
  if (!allowPrivate) {
    const refused = found.find((entry) => isPrivateAddress(entry.address));
    if (refused !== undefined) throw new RefusedAddressError(`${hostname} resolves to ${refused.address}, a loopback, private or link-local address`);
  }
  return found[0]!;
}
