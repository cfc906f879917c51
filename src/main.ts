import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { type CliBackend, LocalBackend, type UserAccess } from './cli/backend.ts';
import { completionScript } from './cli/completion.ts';
import { formatKeyDetails, formatKeyTable, formatUserTable } from './cli/output.ts';
import { normalizeServerUrl, RemoteBackend, remoteTarget, removeLogin, writeLogin } from './cli/remote.ts';
import { formatGrants, parseRoleArgument } from './cli/role-argument.ts';
import { formatGuards, parseAllowArgument, parseRateLimitArgument } from './cli/guard-arguments.ts';
import type { KeyRateLimit } from './access-keys/access-key-guards.ts';
import { type Config, ConfigError, type LoadOptions, loadConfig } from './config.ts';
import { createContext, type Context } from './context.ts';
import { describeDatabase, migrateToLatest, openStorage } from './db/database.ts';
import { type Grant, ROLES } from './auth/permissions.ts';
import { CLI_ACTOR } from './auth/principal.ts';
import { EXPIRATION_PRESETS, type Expiration } from './access-keys/access-key.ts';
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

/** The options given before or after the command name that every command shares. */
interface GlobalOptions {
  dataDir?: string;
  url?: string;
}

/** Set by the preAction hook, before any command's action runs. */
let globalOptions: GlobalOptions = {};

/** The configuration, with `--data-dir` in place of TESSERA_DATA_DIR when given. */
function cliConfig(options: LoadOptions = {}): Config {
  const env = globalOptions.dataDir === undefined ? process.env : { ...process.env, TESSERA_DATA_DIR: globalOptions.dataDir };
  return loadConfig(env, options);
}

/** One line on stderr (never stdout, which `--json` keeps for JSON). */
function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Runs `fn` with a context on the configured database, which must exist, and closes it after. */
async function withContext<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const config = cliConfig({ requireExistingDatabase: true });
  note(`Using the ${describeDatabase(config)}`);
  const ctx = await createContext(config, createLogger({ logLevel: 'warn' }), { listen: false, adoptPublicUrl: false });
  if (config.publicUrlSource === 'environment' && ctx.issuer.current !== config.publicUrl) {
    note(
      `TESSERA_PUBLIC_URL is ${config.publicUrl}, but this database's tokens are issued by ${ctx.issuer.current}: new tokens keep that issuer (a server started with the new value makes it the issuer).`,
    );
  }
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/**
 * Runs a `keys` or `users` command: through the HTTP API of the server named by `--url`,
 * TESSERA_URL or `tessera login` (remote mode), else on the database.
 */
async function withBackend<T>(fn: (backend: CliBackend) => Promise<T>): Promise<T> {
  const remote = remoteTarget(globalOptions);
  if (remote !== undefined) {
    note(`Using the server ${remote.url}`);
    return fn(new RemoteBackend(remote));
  }
  return withContext((ctx) => fn(new LocalBackend(ctx)));
}

/**
 * On a terminal, asks before an action that cannot be undone; `--yes`, or input that is not a
 * terminal (a script), goes ahead without asking.
 */
async function confirm(question: string, yes: boolean | undefined): Promise<boolean> {
  if (yes === true || process.stdin.isTTY !== true) return true;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

/** The version in package.json (the bundle sits one folder below it, as src/ does). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks for an access key on a terminal without echoing it. */
async function askToken(): Promise<string> {
  if (process.stdin.isTTY !== true) throw new InvalidArgumentError('no access key given: pipe it with --token-stdin, or set TESSERA_TOKEN');
  process.stderr.write("Access key (a Global Admin's; not shown): ");
  process.stdin.setRawMode(true);
  let typed = '';
  try {
    for await (const chunk of process.stdin) {
      for (const char of (chunk as Buffer).toString('utf8')) {
        if (char === '\r' || char === '\n') return typed.trim();
        if (char === '\u0003') throw new InvalidArgumentError('cancelled');
        typed = char === '\u007f' ? typed.slice(0, -1) : typed + char;
      }
    }
    return typed.trim();
  } finally {
    process.stdin.setRawMode(false);
    process.stderr.write('\n');
  }
}

/** The one-time secret of a new or reset user, for JSON output. */
function oneTimeAccess(access: UserAccess): { password?: string; invitationUrl?: string } {
  return access.password !== undefined ? { password: access.password } : access.invitationUrl !== undefined ? { invitationUrl: access.invitationUrl } : {};
}

function printOneTimeAccess(access: UserAccess): void {
  if (access.password !== undefined) console.log(`Password (shown once): ${access.password}`);
  if (access.invitationUrl !== undefined) console.log(`Invitation link to pass on (shown once, valid 7 days): ${access.invitationUrl}`);
}

export function buildCli(): Command {
  const program = new Command('tessera')
    .description(
      'Tessera: API access keys for the cloud-security console.\nConfiguration comes from the environment (see README: PORT, HOST, TESSERA_DATA_DIR, DATABASE_URL, TESSERA_SECRET, …).',
    )
    .showHelpAfterError('(run with --help for usage)')
    .version(version(), '-V, --version', 'print the version')
    .option('--data-dir <path>', 'the data folder (default: TESSERA_DATA_DIR, else ./data)')
    .option('--url <url>', "run keys and users commands through this server's API (default: TESSERA_URL, else `tessera login`'s)")
    .hook('preAction', (_thisCommand, actionCommand) => {
      globalOptions = actionCommand.optsWithGlobals<GlobalOptions>();
    });

  program
    .command('serve')
    .description('run the server (the API, the console and the API homepage)')
    .action(async () => {
      // The start-up log line names the database (JSON on stdout, as every log line).
      const server = await startServer(cliConfig());
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
      const config = cliConfig();
      note(`Using the ${describeDatabase(config)}`);
      const storage = openStorage(config);
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
        const { key, token } = await withBackend((backend) =>
          backend.createKey({
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
    .addOption(new Option('--status <status>', 'only keys in this state').choices(['active', 'expiring', 'expired', 'disabled']))
    .addOption(new Option('--role <role>', 'only keys that hold this role').choices([...ROLES]))
    .option('--name <text>', 'only keys whose name contains this (case-insensitive)')
    .option('--json', 'print JSON (dates as ISO 8601)')
    .action(async (options: { status?: 'active' | 'expiring' | 'expired'; role?: Grant['role']; name?: string; json?: boolean }) => {
      const all = await withBackend((backend) => backend.listKeys({ status: options.status, role: options.role, name: options.name }));
      if (options.json === true) console.log(JSON.stringify(all, null, 2));
      else console.log(formatKeyTable(all, new Date()));
    });

  keys
    .command('get <name>')
    .description('show one API access key (never its token)')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const key = await withBackend((backend) => backend.getKey(name));
      console.log(options.json === true ? JSON.stringify(key, null, 2) : formatKeyDetails(key, new Date()));
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
        const key = await withBackend((backend) =>
          backend.updateKey(name, {
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
      const { key, token } = await withBackend((backend) => backend.rollKey(name, { expiration: expirationOption(options), graceMinutes: options.grace }));
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
        const key = await withBackend((backend) => backend.updateKey(name, { disabled }));
        console.log(options.json === true ? JSON.stringify(key) : `Access key "${key.name}" is ${key.status}.`);
      });
  }

  keys
    .command('remove <name>')
    .description('remove an API access key: its token stops working at once (asks first on a terminal)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (name: string, options: { yes?: boolean }) => {
      const removed = await withBackend(async (backend) => {
        const key = await backend.getKey(name);
        if (!(await confirm(`Remove access key "${key.name}"? Its token stops working at once; this cannot be undone.`, options.yes))) return undefined;
        return backend.removeKey(key.name);
      });
      console.log(removed === undefined ? 'Nothing removed.' : `Removed access key "${removed.name}".`);
    });

  const users = program.command('users').description('manage console users');
  users
    .command('create')
    .description('add an active user; the password comes from standard input, or is generated and printed once (through --url: an invitation link)')
    .requiredOption('--email <email>', "the user's email (cannot change later)")
    .requiredOption('--role <role>', 'a role, as for keys create (repeatable)', collectRole)
    .option('--name <displayName>', 'display name (default: the part of the email before @)')
    .option('--password-stdin', 'read the password (at least 12 characters) from standard input')
    .option('--json', 'print JSON')
    .action(async (options: { email: string; role: Grant[]; name?: string; passwordStdin?: boolean; json?: boolean }) => {
      const password = options.passwordStdin === true ? await readStdin() : undefined;
      const access = await withBackend((backend) => backend.createUser({ email: options.email, displayName: options.name, roles: options.role, password }));
      if (options.json === true) {
        console.log(JSON.stringify({ ...access.user, ...oneTimeAccess(access) }));
        return;
      }
      console.log(`Added user ${access.user.email} (${formatGrants(access.user.roles)}).`);
      printOneTimeAccess(access);
    });

  users
    .command('list')
    .description('list console users in email order')
    .option('--json', 'print JSON (dates as ISO 8601)')
    .action(async (options: { json?: boolean }) => {
      const all = await withBackend((backend) => backend.listUsers());
      console.log(options.json === true ? JSON.stringify(all, null, 2) : formatUserTable(all, new Date()));
    });

  users
    .command('remove <email>')
    .description('remove a user: their sessions and tokens end at once (asks first on a terminal)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (email: string, options: { yes?: boolean }) => {
      const removed = await withBackend(async (backend) => {
        const user = await backend.getUser(email);
        if (!(await confirm(`Remove user ${user.email}? Their sessions and tokens end at once; this cannot be undone.`, options.yes))) return undefined;
        return backend.removeUser(user.email);
      });
      console.log(removed === undefined ? 'Nothing removed.' : `Removed user ${removed.email}.`);
    });

  users
    .command('reset-password <email>')
    .description('give an active user a new generated password (printed once; their sessions and tokens end), or a pending user a new invitation link')
    .option('--json', 'print JSON')
    .action(async (email: string, options: { json?: boolean }) => {
      const access = await withBackend((backend) => backend.resetPassword(email));
      if (options.json === true) {
        console.log(JSON.stringify({ email: access.user.email, ...oneTimeAccess(access) }));
        return;
      }
      console.log(
        access.password !== undefined
          ? `New password for ${access.user.email}.`
          : `${access.user.email} has not accepted the invitation yet: a new link replaces the old one.`,
      );
      printOneTimeAccess(access);
    });

  program
    .command('login')
    .description(
      'tessera login --url URL: check and store a key for that server (in $XDG_CONFIG_HOME/tessera, mode 0600); keys and users commands then go through its API',
    )
    .option('--token-stdin', 'read the access key from standard input (otherwise: TESSERA_TOKEN, or asked for on a terminal)')
    .action(async (options: { tokenStdin?: boolean }) => {
      const given = globalOptions.url ?? process.env['TESSERA_URL'];
      if (given === undefined || given.trim() === '') throw new InvalidArgumentError('give the server: tessera login --url https://tessera.example.com');
      const url = normalizeServerUrl(given, globalOptions.url !== undefined ? '--url' : 'TESSERA_URL');
      const token = options.tokenStdin === true ? await readStdin() : process.env['TESSERA_TOKEN']?.trim() || (await askToken());
      if (token === '') throw new InvalidArgumentError('no access key given: pipe it with --token-stdin, or set TESSERA_TOKEN');
      // Checked before it is stored: a mistyped key should fail here, not at the next command.
      await new RemoteBackend({ url, token }).listKeys({});
      const file = writeLogin({ url, token });
      console.log(`Logged in to ${url}; the key is stored in ${file}. keys and users commands now go through this server.`);
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

  program
    .command('logout')
    .description('forget the key `tessera login` stored: keys and users commands use the database again')
    .action(() => {
      console.log(removeLogin() ? 'Logged out: the stored key is deleted.' : 'Not logged in.');
    });

  program
    .command('completion')
    .description('print a shell completion script: add `source <(tessera completion bash)` to ~/.bashrc (zsh: ~/.zshrc)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      process.stdout.write(completionScript(program, shell));
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

const cli = buildCli();
// A bare `tessera` is a request for help, not a mistake: the help, on stdout, exit 0.
if (process.argv.length <= 2) cli.help();
await cli.parseAsync(process.argv).catch(report);
