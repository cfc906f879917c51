import ipaddr from 'ipaddr.js';
import { invalidFields, jsonPointer, type FieldError } from '../http/errors.ts';
import { MAX_ALLOWED_CIDRS, MAX_RATE_LIMIT_REQUESTS, MAX_RATE_LIMIT_SECONDS } from '../shared/limits.ts';
import { BoundedCache } from '../util/bounded-cache.ts';

/** A key's own rate limit: at most `requests` in each window of `perSeconds` seconds. */
export interface KeyRateLimit {
  requests: number;
  perSeconds: number;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * One allowlist entry parsed: an IPv4 address in dotted four-part form, an IPv6 address (no
 * zone), either with a prefix. An IPv4-mapped IPv6 entry (`::ffff:10.0.0.0/104`) becomes the
 * IPv4 range it denotes, as a mapped client address is matched as IPv4.
 */
function parseEntry(raw: string): Range | undefined {
  const text = raw.trim();
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) parsed = ipaddr.IPv4.parse(address);
  else if (ipaddr.IPv6.isValid(address) && !address.includes('%')) parsed = ipaddr.IPv6.parse(address);
  else return undefined;
  const bits = parsed.kind() === 'ipv4' ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    return [(parsed as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  return [parsed, prefix];
}

/** The canonical text of a range: its network address (host bits cleared), without `/32` or `/128`. */
function rangeText([address, prefix]: Range): string {
  const bits = address.kind() === 'ipv4' ? 32 : 128;
  if (prefix === bits) return address.toString();
  const network = address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`) : ipaddr.IPv6.networkAddressFromCIDR(`${address}/${prefix}`);
  return `${network.toString()}/${prefix}`;
}

/**
 * An allowlist as stored: each entry an address or CIDR range in canonical form (IPv6
 * compressed as RFC 5952, a range's host bits cleared, a mapped IPv4 entry as IPv4), duplicates
 * dropped, order kept. Empty means any address. A bad entry is a validation error naming it
 * (`/allowedCidrs/3`).
 */
export function normalizeAllowedCidrs(raw: readonly string[]): string[] {
  if (raw.length > MAX_ALLOWED_CIDRS) throw invalidFields([{ in: 'body', pointer: '/allowedCidrs', message: `must hold at most ${MAX_ALLOWED_CIDRS} entries` }]);
  const errors: FieldError[] = [];
  const entries: string[] = [];
  raw.forEach((entry, index) => {
    const range = parseEntry(entry);
    if (range === undefined) errors.push({ in: 'body', pointer: jsonPointer('allowedCidrs', index), message: 'is not an IPv4 or IPv6 address or CIDR range' });
    else entries.push(rangeText(range));
  });
  if (errors.length > 0) throw invalidFields(errors);
  return [...new Set(entries)];
}

/** A rate limit as stored, or null for none; bounds are checked (`/rateLimit/requests`). */
export function normalizeRateLimit(raw: KeyRateLimit | null): KeyRateLimit | null {
  if (raw === null) return null;
  const errors: FieldError[] = [];
  if (!Number.isInteger(raw.requests) || raw.requests < 1 || raw.requests > MAX_RATE_LIMIT_REQUESTS) {
    errors.push({ in: 'body', pointer: '/rateLimit/requests', message: `must be a whole number from 1 to ${MAX_RATE_LIMIT_REQUESTS}` });
  }
  if (!Number.isInteger(raw.perSeconds) || raw.perSeconds < 1 || raw.perSeconds > MAX_RATE_LIMIT_SECONDS) {
    errors.push({ in: 'body', pointer: '/rateLimit/perSeconds', message: `must be a whole number of seconds from 1 to ${MAX_RATE_LIMIT_SECONDS}` });
  }
  if (errors.length > 0) throw invalidFields(errors);
  return { requests: raw.requests, perSeconds: raw.perSeconds };
}

/**
 * A key's allowlist, parsed once when the key's state is loaded, so the request path only
 * parses the client address (and remembers the last few answers: a key is used from few places).
 */
export class AddressAllowlist {
  readonly #v4: Range[] = [];
  readonly #v6: Range[] = [];
  readonly #answers = new BoundedCache<string, boolean>(64);

  /** `entries` as stored (normalizeAllowedCidrs); an entry that no longer parses is skipped, never widening. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const range = parseEntry(entry);
      if (range === undefined) continue;
      (range[0].kind() === 'ipv4' ? this.#v4 : this.#v6).push(range);
    }
  }

  /** Whether the client address `ip` (as request.ip gives it) is inside; an IPv4-mapped IPv6 address is matched as IPv4. */
  allows(ip: string): boolean {
    let answer = this.#answers.get(ip);
    if (answer === undefined) {
      answer = this.#match(ip);
      this.#answers.set(ip, answer);
    }
    return answer;
  }

  #match(ip: string): boolean {
    if (!ipaddr.isValid(ip)) return false;
    const address = ipaddr.process(ip);
    const ranges = address.kind() === 'ipv4' ? this.#v4 : this.#v6;
    for (const range of ranges) if (address.match(range)) return true;
    return false;
  }
}
