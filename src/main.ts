import { Command, InvalidArgumentError, Option } from 'commander';
import { formatGrants, parseRoleArgument } from './cli/role-argument.ts';
import { formatGuards, parseAllowArgument, parseRateLimitArgument } from './cli/guard-arguments.ts';
import type { KeyRateLimit } from './access-keys/access-key-guards.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createContext, type Context } from './context.ts';
import { migrateToLatest, openStorage } from './db/database.ts';
import type { Grant } from './auth/permissions.ts';
import { CLI_ACTOR } from './auth/principal.ts';
import { EXPIRATION_PRESETS, type Expiration } from './access-keys/access-key.ts';
import type { AccessKey } from './access-keys/access-key.ts';
import { AppError } from './http/errors.ts';
import { DEFAULT_ROLL_GRACE_MINUTES, MAX_ROLL_GRACE_MINUTES } from './shared/limits.ts';
import { createLogger } from './http/logging.ts';
import { startServer } from './server.ts';
import { seedDemo } from './demo/demo.ts';

/**
 * Stop signals this soon after the first are the same request delivered twice: under `npm
 * start`, npm forwards SIGINT/SIGTERM to the server, which the terminal or systemd already
 * sent to the whole process group. A signal after this forces an immediate exit.
 */
const DUPLICATE_SIGNAL_WINDOW_MS = 1000;
/** After a stop, how long the last log lines may take to be written before the process exits regardless. */
const EXIT_DRAIN_MS = 2000;

function collectRole(value: string, previous: Grant[] = []): Grant[] {
  try {
    return [...previous, parseRoleArgument(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function collectAllow(value: string, previous: string[] = []): string[] {
  try {
    return [...previous, parseAllowArgument(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function rateLimitArgument(value: string): KeyRateLimit {
  try {
    return parseRateLimitArgument(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** `--allow` and `--allow-any` as the service takes them: undefined when neither was given. */
function allowlistOption(options: { allow?: string[]; allowAny?: boolean }): string[] | undefined {
  return options.allowAny === true ? [] : options.allow;
}

/** `--rate-limit N/S` a limit, `--no-rate-limit` none (false), undefined when neither was given. */
function rateLimitOption(options: { rateLimit?: KeyRateLimit | false | true }): KeyRateLimit | null | undefined {
  return options.rateLimit === false ? null : options.rateLimit === true ? undefined : options.rateLimit;
}

const ALLOW_HELP = 'an IPv4/IPv6 address or CIDR range the key may be used from (repeatable; default: any address)';
const RATE_LIMIT_HELP = 'at most N requests every S seconds, e.g. 100/60 (shared by all instances with REDIS_URL, per instance without)';

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number of days');
  return Number(value);
}

function graceMinutes(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > MAX_ROLL_GRACE_MINUTES) {
    throw new InvalidArgumentError(`must be a whole number of minutes from 0 to ${MAX_ROLL_GRACE_MINUTES}`);
  }
  return Number(value);
}

/** The expiration of `--expires` or `--days`, undefined when neither is given. */
function expirationOption(options: { expires?: string; days?: number }): Expiration | undefined {
  return options.days !== undefined ? { days: options.days } : (options.expires as Expiration | undefined);
}

/** Runs `fn` with a context on the configured database, and closes it after. */
async function withContext<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const ctx = await createContext(config, createLogger({ logLevel: 'warn' }), { listen: false });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function printKeys(keys: AccessKey[]): void {
  if (keys.length === 0) {
    console.log('No access keys.');
    return;
  }
  const rows = keys.map((k) => [k.name, formatGrants(k.roles), k.createdAt, k.expiresAt, k.status]);
  const header = ['NAME', 'ROLES', 'CREATED', 'EXPIRES', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

export function buildCli(): Command {
  const program = new Command('tessera')
    .description(
      'Tessera: API access keys for the cloud-security console.\nConfiguration comes from the environment (see README: PORT, HOST, TESSERA_DATA_DIR, DATABASE_URL, TESSERA_SECRET, …).',
    )
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('serve')
    .description('run the server (the API, the console and the API homepage)')
    .action(async () => {
      const server = await startServer(loadConfig());
      // Not process.exit() at once: the log is written asynchronously, and its last lines would be
      // lost. The process ends when its last write is done; a handle left open cannot hold it.
      const exit = (code: number) => {
        process.exitCode = code;
        setTimeout(() => process.exit(code), EXIT_DRAIN_MS).unref();
      };
      let firstSignalAt: number | undefined;
      const shutdown = (signal: string) => {
        const now = performance.now();
        if (firstSignalAt !== undefined) {
          // The same stop request delivered twice (npm forwards what the terminal's Ctrl-C or a
          // control-group kill already delivered to the whole group): the graceful stop goes on.
          if (now - firstSignalAt < DUPLICATE_SIGNAL_WINDOW_MS) return;
          // Asked again later, by a person or a supervisor: exit now.
          server.ctx.log.warn({ signal }, 'stop requested again: exiting without finishing the graceful stop');
          process.exit(1);
        }
        firstSignalAt = now;
        server.ctx.log.info({ signal }, 'shutting down: finishing in-flight requests, flushing usage, closing connections');
        // Keeps the process alive until the stop is done, whatever it waits on.
        const hold = setInterval(() => {}, 1000);
        server
          .stop()
          .finally(() => clearInterval(hold))
          .then(
            () => exit(0),
            (err: unknown) => {
              server.ctx.log.error({ err }, 'shutdown failed');
              exit(1);
            },
          );
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });

  program
    .command('migrate')
    .description('bring the database schema up to date')
    .action(async () => {
      const storage = openStorage(loadConfig());
      try {
        const applied = await migrateToLatest(storage.db);
        console.log(applied.length === 0 ? 'The database is up to date.' : `Applied: ${applied.join(', ')}`);
      } finally {
        await storage.close();
      }
    });

  const keys = program.command('keys').description('manage API access keys');
  keys
    .command('create')
    .description('add an API access key and print its token (shown once)')
    .requiredOption('--name <name>', 'unique name of the key (1–64 characters)')
    .requiredOption('--role <role>', 'global-admin | global-viewer | cloud-account-viewer:all | cloud-account-viewer:ID[,ID…] (repeatable)', collectRole)
    .addOption(new Option('--expires <period>', 'expiration preset').choices([...EXPIRATION_PRESETS]).conflicts('days'))
    .addOption(new Option('--days <n>', 'custom expiration in days').argParser(positiveInteger))
    .option('--description <text>', 'what the key is for (at most 500 characters)')
    .option('--allow <cidr>', ALLOW_HELP, collectAllow)
    .option('--rate-limit <N/S>', RATE_LIMIT_HELP, rateLimitArgument)
    .option('--json', 'print one JSON object, token included')
    .action(
      async (options: {
        name: string;
        role: Grant[];
        expires?: string;
        days?: number;
        description?: string;
        allow?: string[];
        rateLimit?: KeyRateLimit;
        json?: boolean;
      }) => {
        const expiration = expirationOption(options);
        const { key, token } = await withContext((ctx) =>
          ctx.accessKeys.create(CLI_ACTOR, {
            name: options.name,
            roles: options.role,
            expiration,
            description: options.description,
            allowedCidrs: options.allow,
            rateLimit: options.rateLimit,
          }),
        );
        if (options.json === true) {
          console.log(JSON.stringify({ ...key, token }));
          return;
        }
        console.log(`Added access key "${key.name}" (${formatGrants(key.roles)}), expires ${key.expiresAt}; usable ${formatGuards(key)}.`);
        console.log('Save this JSON web token now; it cannot be shown again:\n');
        console.log(token);
      },
    );

  keys
    .command('list')
    .description('list API access keys, newest first (never their tokens)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const all = await withContext(async (ctx) => {
        const items: AccessKey[] = [];
        let cursor: string | undefined;
        do {
          const page = await ctx.accessKeys.list({ limit: 200, cursor });
          items.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        return items;
      });
      if (options.json === true) console.log(JSON.stringify(all, null, 2));
      else printKeys(all);
    });

  keys
    .command('edit <name>')
    .description('replace the roles, the description, the network allowlist or the rate limit of an API access key (its name cannot change)')
    .option('--role <role>', 'a role, as for create (repeatable); replaces all roles', collectRole)
    .option('--description <text>', 'what the key is for; "" removes it')
    .addOption(new Option('--allow <cidr>', `${ALLOW_HELP}; replaces the allowlist`).argParser(collectAllow).conflicts('allowAny'))
    .option('--allow-any', 'remove the allowlist: the key may be used from any address')
    .option('--rate-limit <N/S>', RATE_LIMIT_HELP, rateLimitArgument)
    .option('--no-rate-limit', 'remove the rate limit')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        options: { role?: Grant[]; description?: string; allow?: string[]; allowAny?: boolean; rateLimit?: KeyRateLimit | boolean; json?: boolean },
      ) => {
        const allowedCidrs = allowlistOption(options);
        const rateLimit = rateLimitOption(options);
        if (options.role === undefined && options.description === undefined && allowedCidrs === undefined && rateLimit === undefined) {
          throw new InvalidArgumentError('give --role, --description, --allow, --allow-any, --rate-limit or --no-rate-limit');
        }
        const key = await withContext(async (ctx) =>
          ctx.accessKeys.update(CLI_ACTOR, (await ctx.accessKeys.getByName(name)).id, {
            roles: options.role,
            description: options.description,
            allowedCidrs,
            rateLimit,
          }),
        );
        console.log(options.json === true ? JSON.stringify(key) : `Access key "${key.name}" now has: ${formatGrants(key.roles)}; usable ${formatGuards(key)}.`);
      },
    );

  keys
    .command('roll <name>')
    .description('give an API access key a new token (printed once); the old one works until the grace period ends')
    .option('--grace <minutes>', `how long the old token keeps working, 0–${MAX_ROLL_GRACE_MINUTES} minutes`, graceMinutes, DEFAULT_ROLL_GRACE_MINUTES)
    .addOption(new Option('--expires <period>', 'expiration preset (default: the one the key was created with)').choices([...EXPIRATION_PRESETS]).conflicts('days'))
    .addOption(new Option('--days <n>', 'custom expiration in days').argParser(positiveInteger))
    .option('--json', 'print one JSON object, token included')
    .action(async (name: string, options: { grace: number; expires?: string; days?: number; json?: boolean }) => {
      const { key, token } = await withContext(async (ctx) =>
        ctx.accessKeys.roll(CLI_ACTOR, (await ctx.accessKeys.getByName(name)).id, { expiration: expirationOption(options), graceMinutes: options.grace }),
      );
      if (options.json === true) {
        console.log(JSON.stringify({ ...key, token }));
        return;
      }
      const old = key.previousTokenExpiresAt === null ? 'The old token no longer works.' : `The old token works until ${key.previousTokenExpiresAt}.`;
      console.log(`Rolled access key "${key.name}", expires ${key.expiresAt}. ${old}`);
      console.log('Save this JSON web token now; it cannot be shown again:\n');
      console.log(token);
    });

  for (const [command, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    keys
      .command(`${command} <name>`)
      .description(disabled ? 'disable an API access key: its token is refused until it is enabled again' : 'enable a disabled API access key again')
      .option('--json', 'print JSON')
      .action(async (name: string, options: { json?: boolean }) => {
        const key = await withContext(async (ctx) => ctx.accessKeys.update(CLI_ACTOR, (await ctx.accessKeys.getByName(name)).id, { disabled }));
        console.log(options.json === true ? JSON.stringify(key) : `Access key "${key.name}" is ${key.status}.`);
      });
  }

  keys
    .command('remove <name>')
    .description('remove an API access key: its token stops working at once')
    .action(async (name: string) => {
      const removed = await withContext(async (ctx) => {
        const key = await ctx.accessKeys.getByName(name);
        await ctx.accessKeys.remove(CLI_ACTOR, key.id);
        return key;
      });
      console.log(`Removed access key "${removed.name}".`);
    });

  const users = program.command('users').description('manage console users');
  users
    .command('create')
    .description('add an active user; the password comes from standard input, or is generated and printed once')
    .requiredOption('--email <email>', "the user's email (cannot change later)")
    .requiredOption('--role <role>', 'a role, as for keys create (repeatable)', collectRole)
    .option('--name <displayName>', 'display name (default: the part of the email before @)')
    .option('--password-stdin', 'read the password (at least 12 characters) from standard input')
    .option('--json', 'print JSON')
    .action(async (options: { email: string; role: Grant[]; name?: string; passwordStdin?: boolean; json?: boolean }) => {
      const password = options.passwordStdin === true ? await readStdin() : undefined;
      const { user, generatedPassword } = await withContext((ctx) =>
        ctx.users.createActive(CLI_ACTOR, { email: options.email, displayName: options.name, roles: options.role, password }),
      );
      if (options.json === true) {
        console.log(JSON.stringify(generatedPassword === undefined ? user : { ...user, password: generatedPassword }));
        return;
      }
      console.log(`Added user ${user.email} (${formatGrants(user.roles)}).`);
      if (generatedPassword !== undefined) console.log(`Password (shown once): ${generatedPassword}`);
    });

  program
    .command('demo')
    .description('seed demo data (cloud accounts on AWS, Azure and GCP, credentials, assets, CVEs, a policy); running it again changes nothing')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await withContext((ctx) => seedDemo(ctx));
      if (options.json === true) {
        console.log(JSON.stringify(result));
        return;
      }
      const accounts = result.cloudAccounts.created + result.cloudAccounts.existing;
      console.log(
        `Demo data ready: ${accounts} cloud accounts (${result.cloudAccounts.created} new), ${result.credentials.created + result.credentials.existing} credentials, ${result.assets} assets, ${result.cveFindings} CVE findings, policy ${result.policy === 'seeded' ? 'seeded' : 'kept as it was'}.`,
      );
      console.log('Create a key to call the API: npx tessera keys create --name demo --role global-admin --json');
    });

  program
    .command('signing-keys')
    .description('manage the keys that sign tokens')
    .command('rotate')
    .description('make a new current signing key; tokens signed by older keys stay valid')
    .action(async () => {
      const kid = await withContext((ctx) => ctx.signingKeys.rotate(ctx.transactions, CLI_ACTOR));
      console.log(`New current signing key: ${kid}`);
    });

  return program;
}

/** One line per error, never a stack: exit 2 for a configuration error, 1 for any other. */
function report(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(`configuration error: ${error.message}`);
    process.exit(2);
  }
  if (error instanceof AppError) {
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

await buildCli().parseAsync(process.argv).catch(report);
