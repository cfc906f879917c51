import { normalizeAllowedCidrs, normalizeRateLimit, type KeyRateLimit } from '../access-keys/access-key-guards.ts';
import { AppError } from '../http/errors.ts';
import { MAX_RATE_LIMIT_REQUESTS, MAX_RATE_LIMIT_SECONDS } from '../shared/limits.ts';

/** The field error's message alone: the CLI names its own flag, not a JSON Pointer. */
function reason(error: unknown): string {
  if (error instanceof AppError) {
    const fields = error.extra.errors as Array<{ message: string }> | undefined;
    if (fields?.[0] !== undefined) return fields[0].message;
  }
  throw error;
}

/**
 * Parses one `--allow` argument (an IPv4 or IPv6 address or CIDR range) into its canonical
 * form, as the API stores it. Throws an Error whose message says what is accepted.
 */
export function parseAllowArgument(value: string): string {
  try {
    return normalizeAllowedCidrs([value])[0]!;
  } catch (error) {
    throw new Error(`"${value}" ${reason(error)} (for example 203.0.113.0/24 or 2001:db8::/32)`);
  }
}

/** Parses `--rate-limit N/S`: at most N requests every S seconds. */
export function parseRateLimitArgument(value: string): KeyRateLimit {
  const match = /^\s*(\d{1,7})\s*\/\s*(\d{1,6})\s*s?\s*$/.exec(value);
  const usage = `use N/S for at most N requests (1–${MAX_RATE_LIMIT_REQUESTS}) every S seconds (1–${MAX_RATE_LIMIT_SECONDS}), for example 100/60`;
  if (match === null) throw new Error(`"${value}" is not a rate limit: ${usage}`);
  try {
    return normalizeRateLimit({ requests: Number(match[1]), perSeconds: Number(match[2]) })!;
  } catch (error) {
    throw new Error(`"${value}": ${reason(error)}; ${usage}`);
  }
}

/** A key's allowlist and rate limit as the CLI prints them. */
export function formatGuards(key: { allowedCidrs: readonly string[]; rateLimit: KeyRateLimit | null }): string {
  const network = key.allowedCidrs.length === 0 ? 'from any address' : `from ${key.allowedCidrs.join(' ')}`;
  const rate = key.rateLimit === null ? 'no rate limit' : `at most ${key.rateLimit.requests} requests every ${key.rateLimit.perSeconds} s`;
  return `${network}, ${rate}`;
}
