import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_MAX_KEY_DAYS } from './shared/limits.ts';
import { ensurePrivateDir } from './util/private-files.ts';

/** The validated, frozen configuration of one Tessera process. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** A `postgres://` URL, or undefined for the embedded SQLite database. */
  readonly databaseUrl: string | undefined;
  /** The instance secret: encrypts signing keys and credential secrets at rest. */
  readonly secret: string;
  /** Where the secret came from, so start-up can say so. */
  readonly secretSource: 'environment' | 'generated' | 'data-dir';
  /**
   * The address users reach Tessera at: links (invitations) are built from it, and the first
   * process on a database makes it the token issuer (src/auth/token-issuer.ts).
   */
  readonly publicUrl: string;
  /** TESSERA_PUBLIC_URL, or the `http://HOST:PORT` default. */
  readonly publicUrlSource: 'environment' | 'host-port';
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  /** Upper bound of a custom key expiration, in days. */
  readonly maxKeyDays: number;
  readonly sessionIdleMinutes: number;
  readonly sessionAbsoluteHours: number;
  readonly auditRetentionDays: number;
  /** How many days each access key's activity (requests by route, address and account) is kept. */
  readonly keyActivityDays: number;
  readonly redisUrl: string | undefined;
  /**
   * Addresses and CIDR ranges of the proxies whose `X-Forwarded-For` is believed (empty: none,
   * the peer address is the client).
   */
  readonly trustedProxies: readonly string[];
  /** Bearer token that `/metrics` requires; without it `/metrics` is off (404). */
  readonly metricsToken: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Webhook URLs may point at loopback, private and link-local addresses (on-premises receivers, tests). */
  readonly webhookAllowPrivate: boolean;
  /** Days before expiry at which `access_key.expiring` is sent, largest first (default 30, 7, 1). */
  readonly expiryWarningDays: readonly number[];
}

/** A configuration value that cannot be used; the message says how to fix it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const MIN_SECRET_LENGTH = 32;
const SECRET_FILE = 'instance-secret';

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`${name}="${raw}" is not a whole number: set it to an integer between ${min} and ${max}, or unset it for ${fallback}.`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(`${name}=${value} is out of range: set it to an integer between ${min} and ${max}, or unset it for ${fallback}.`);
  }
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * TESSERA_TRUSTED_PROXIES: a comma-separated list of IPv4/IPv6 addresses and CIDR ranges.
 * Each entry is checked here, so that a typo stops start-up instead of trusting nothing (or,
 * worse, a wider range than meant).
 */
function trustedProxies(env: Env): string[] {
  const raw = optional(env, 'TESSERA_TRUSTED_PROXIES');
  if (raw === undefined) return [];
  return raw.split(',').map((entry) => {
    const value = entry.trim();
    const [address = '', prefix, extra] = value.split('/');
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (family === 0 || extra !== undefined || !prefixOk) {
      throw new ConfigError(
        `TESSERA_TRUSTED_PROXIES holds "${value}", which is not an IP address or CIDR range: list your load balancers' addresses or ranges separated by commas (for example 10.0.0.0/8,2001:db8::/32), or unset it to trust no proxy.`,
      );
    }
    return value;
  });
}

function flag(env: Env, name: string): boolean {
  const raw = optional(env, name)?.toLowerCase();
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new ConfigError(`${name}="${env[name]}" is not true or false: set it to true to allow it, or unset it.`);
}

export const DEFAULT_EXPIRY_WARNING_DAYS: readonly number[] = Object.freeze([30, 7, 1]);
const MAX_EXPIRY_WARNINGS = 10;

/**
 * TESSERA_EXPIRY_WARNING_DAYS: comma-separated whole numbers of days, each from 1 to 3650,
 * distinct, at most ten; returned largest first.
 */
function expiryWarningDays(env: Env): readonly number[] {
  const raw = optional(env, 'TESSERA_EXPIRY_WARNING_DAYS');
  if (raw === undefined) return DEFAULT_EXPIRY_WARNING_DAYS;
  const fix = `set it to whole numbers of days from 1 to 3650 separated by commas (at most ${MAX_EXPIRY_WARNINGS}, for example 30,7,1), or unset it for 30,7,1.`;
  const entries = raw.split(',').map((entry) => entry.trim());
  const days = entries.map((entry) => {
    if (!/^\d{1,4}$/.test(entry) || Number(entry) < 1 || Number(entry) > 3650) {
      throw new ConfigError(`TESSERA_EXPIRY_WARNING_DAYS holds "${entry}", which is not a number of days: ${fix}`);
    }
    return Number(entry);
  });
  if (new Set(days).size !== days.length) throw new ConfigError(`TESSERA_EXPIRY_WARNING_DAYS="${raw}" names a day count twice: ${fix}`);
  if (days.length > MAX_EXPIRY_WARNINGS) throw new ConfigError(`TESSERA_EXPIRY_WARNING_DAYS="${raw}" has more than ${MAX_EXPIRY_WARNINGS} entries: ${fix}`);
  return Object.freeze(days.sort((a, b) => b - a));
}

function readOrCreateSecret(dataDir: string): { secret: string; source: 'generated' | 'data-dir' } {
  const file = join(dataDir, SECRET_FILE);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(`${file} holds a secret shorter than ${MIN_SECRET_LENGTH} characters: restore the original file, or set TESSERA_SECRET.`);
    }
    return { secret, source: 'data-dir' };
  }
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { secret, source: 'generated' };
}

/**
 * Reads the environment once, validates every value and returns a frozen Config.
 * Without TESSERA_SECRET (and only on SQLite) the instance secret is generated into the
 * data folder with mode 0600, so that it survives restarts.
 */
export interface LoadOptions {
  /**
   * Refuse a SQLite data folder or database file that does not exist (every CLI command but
   * `serve` and `migrate`): run from the wrong folder, the CLI would otherwise make a new,
   * empty database there and mint tokens that no server accepts.
   */
  requireExistingDatabase?: boolean;
}

/** The SQLite database file in a data folder. */
export function sqliteFile(dataDir: string): string {
  return join(dataDir, 'tessera.db');
}

export function loadConfig(env: Env = process.env, options: LoadOptions = {}): Config {
  const host = optional(env, 'HOST') ?? '127.0.0.1';
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const dataDirRaw = optional(env, 'TESSERA_DATA_DIR') ?? './data';
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(process.cwd(), dataDirRaw);

  const databaseUrl = optional(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// URL (for example postgres://postgres@127.0.0.1:5432/tessera), or unset for the embedded SQLite database.');
  }

  let secret = optional(env, 'TESSERA_SECRET');
  let secretSource: Config['secretSource'] = 'environment';
  if (secret !== undefined) {
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(
        `TESSERA_SECRET is too short (${secret.length} characters): use at least ${MIN_SECRET_LENGTH}, for example the output of \`openssl rand -base64 32\`.`,
      );
    }
  } else if (databaseUrl !== undefined) {
    throw new ConfigError(
      'TESSERA_SECRET is required with DATABASE_URL, so that every instance shares it: set it to at least 32 random characters (`openssl rand -base64 32`).',
    );
  }

  const publicUrlSource: Config['publicUrlSource'] = optional(env, 'TESSERA_PUBLIC_URL') === undefined ? 'host-port' : 'environment';
  const rawPublicUrl = optional(env, 'TESSERA_PUBLIC_URL') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let publicUrl: string;
  try {
    const url = new URL(rawPublicUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    publicUrl = url.origin + url.pathname.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(
      `TESSERA_PUBLIC_URL="${rawPublicUrl}" is not an http(s) URL: set it to the address users reach Tessera at, for example https://tessera.example.com.`,
    );
  }

  const adminEmail = optional(env, 'TESSERA_ADMIN_EMAIL');
  const adminPassword = env['TESSERA_ADMIN_PASSWORD'] === '' ? undefined : env['TESSERA_ADMIN_PASSWORD'];
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError('TESSERA_ADMIN_EMAIL and TESSERA_ADMIN_PASSWORD go together: set both, or neither (a password is then generated and printed once).');
  }
  if (adminEmail !== undefined && !/^[^\s@]+@[^\s@]+$/.test(adminEmail)) {
    throw new ConfigError(`TESSERA_ADMIN_EMAIL="${adminEmail}" is not an email address.`);
  }
  if (adminPassword !== undefined && adminPassword.length < 12) {
    throw new ConfigError('TESSERA_ADMIN_PASSWORD must have at least 12 characters.');
  }

  const logLevel = (optional(env, 'LOG_LEVEL') ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL="${logLevel}" is not one of ${LOG_LEVELS.join(', ')}.`);
  }

  const redisUrl = optional(env, 'REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL, or unset for in-process rate limits.');
  }

  const metricsToken = optional(env, 'TESSERA_METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('TESSERA_METRICS_TOKEN is too short: use at least 16 random characters (`openssl rand -hex 24`), or unset it to turn /metrics off.');
  }

  const proxies = Object.freeze(trustedProxies(env));
  const webhookAllowPrivate = flag(env, 'TESSERA_WEBHOOK_ALLOW_PRIVATE');
  const warningDays = expiryWarningDays(env);

  if (options.requireExistingDatabase === true && databaseUrl === undefined) {
    const missing = !existsSync(dataDir)
      ? `The data folder ${dataDir} does not exist`
      : !existsSync(sqliteFile(dataDir))
        ? `The data folder ${dataDir} holds no database`
        : undefined;
    if (missing !== undefined) {
      throw new ConfigError(
        `${missing}: run this where the server runs, or point --data-dir (or TESSERA_DATA_DIR) at the server's data folder; \`tessera migrate\` makes a new database.`,
      );
    }
  }

  if (secret === undefined) {
    ensurePrivateDir(dataDir);
    const created = readOrCreateSecret(dataDir);
    secret = created.secret;
    secretSource = created.source;
  }

  return Object.freeze({
    host,
    port,
    dataDir,
    databaseUrl,
    secret,
    secretSource,
    publicUrl,
    publicUrlSource,
    adminEmail,
    adminPassword,
    maxKeyDays: integer(env, 'TESSERA_MAX_KEY_DAYS', DEFAULT_MAX_KEY_DAYS, 1, 3650),
    sessionIdleMinutes: integer(env, 'TESSERA_SESSION_IDLE_MINUTES', 30, 1, 24 * 60),
    sessionAbsoluteHours: integer(env, 'TESSERA_SESSION_ABSOLUTE_HOURS', 12, 1, 24 * 30),
    auditRetentionDays: integer(env, 'TESSERA_AUDIT_RETENTION_DAYS', 365, 1, 3650 * 3),
    keyActivityDays: integer(env, 'TESSERA_KEY_ACTIVITY_DAYS', 30, 1, 366),
    redisUrl,
    trustedProxies: proxies,
    metricsToken,
    logLevel,
    webhookAllowPrivate,
    expiryWarningDays: warningDays,
  });
}
