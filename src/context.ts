import type { Logger } from 'pino';
import { AccessKeyAuthenticator } from './access-keys/access-key.auth.ts';
import { AccessKeyService, DORMANT_KEYS_JOB } from './access-keys/access-key.service.ts';
import { Authenticator } from './auth/authenticate.ts';
import { SigningKeyStore } from './auth/keystore.ts';
import { SecretBox } from './auth/secret-box.ts';
import { SYSTEM_ACTOR } from './auth/principal.ts';
import { TokenIssuerStore, type TokenIssuer } from './auth/token-issuer.ts';
import { TokenService } from './auth/tokens.ts';
import type { Config } from './config.ts';
import { DatabaseAvailability, isDatabaseUnavailable } from './db/availability.ts';
import { ChangeBus } from './changes/change-bus.ts';
import type { ChangeKind } from './changes/change.ts';
import { migrateToLatest, openStorage, type Storage } from './db/database.ts';
import { WalCheckpointer } from './db/wal-checkpointer.ts';
import { ReadCache } from './db/read-cache.ts';
import { Transactions } from './db/transactions.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { RefusedAddressAudit } from './access-keys/refused-address-audit.ts';
import { MemoryRateLimiter, type RateLimiter } from './rate-limit/rate-limiter.ts';
import { RedisRateLimiter } from './rate-limit/redis-rate-limiter.ts';
import { UserService } from './users/user.service.ts';
import { CloudAccountService } from './cloud-accounts/cloud-account.service.ts';
import { CredentialService } from './credentials/credential.service.ts';
import { AssetService } from './assets/asset.service.ts';
import { PolicyService } from './policy/policy.service.ts';
import { ReportService } from './reports/report.service.ts';
import { AuditService } from './audit/audit.service.ts';
import { UserTokens } from './auth/user-token.ts';
import { SessionService } from './sessions/session.service.ts';
import { SignInService } from './sessions/sign-in.service.ts';
import { KeyUsage, USAGE_FLUSH_INTERVAL_MS } from './usage/key-usage.ts';
import { EXPIRY_WARNING_INTERVAL_MS, EXPIRY_WARNING_JOB, ExpiryWarnings } from './access-keys/expiry-warnings.ts';
import { WebhookService } from './webhooks/webhook.service.ts';
import { WEBHOOK_DELIVERY_INTERVAL_MS, WEBHOOK_DELIVERY_JOB, WEBHOOK_RETENTION_JOB, WebhookSender } from './webhooks/webhook-sender.ts';
import { ACTIVITY_PRUNE_INTERVAL_MS, ACTIVITY_PRUNE_JOB, KeyActivity } from './usage/key-activity.ts';

/** Everything a Tessera process is made of, wired once: the server and the CLI share it. */
export interface Context {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly storage: Storage;
  /** Database outages as this process sees them: one warning each, and when they end. */
  readonly databaseAvailability: DatabaseAvailability;
  readonly box: SecretBox;
  readonly transactions: Transactions;
  /** What changed, told to every cache of every process (src/changes/). */
  readonly changes: ChangeBus;
  readonly signingKeys: SigningKeyStore;
  readonly tokens: TokenService;
  /** The issuer this instance's tokens carry, kept in the database (reloaded when another process changes it). */
  readonly issuer: TokenIssuer;
  readonly authenticator: Authenticator;
  readonly accessKeys: AccessKeyService;
  readonly accessKeyAuth: AccessKeyAuthenticator;
  readonly users: UserService;
  /** The console's functions: cloud accounts, credentials, assets and CVEs, policy, reports. */
  readonly cloudAccounts: CloudAccountService;
  /** Pages of `GET /api/v1/cloud-accounts` as sent (JSON bytes), by account scope and query, until an account changes. */
  readonly cloudAccountPages: ReadCache<Buffer>;
  readonly credentials: CredentialService;
  readonly assets: AssetService;
  readonly policy: PolicyService;
  readonly reports: ReportService;
  /** Console sessions (cookie) and users' API tokens; sign-in checks shared by both. */
  readonly sessions: SessionService;
  readonly userTokens: UserTokens;
  readonly signIn: SignInService;
  readonly audit: AuditService;
  /** Per-key usage, counted in memory and flushed in batches. */
  readonly usage: KeyUsage;
  /** Webhook endpoints and their deliveries. */
  readonly webhooks: WebhookService;
  /** Sends the webhook outbox (the `webhook-delivery` job, one instance at a time). */
  readonly webhookSender: WebhookSender;
  /** Sends `access_key.expiring` and `.expired` (the `access-key-expiry-warnings` job). */
  readonly expiryWarnings: ExpiryWarnings;
  /** What each key did (requests by route, status, address and account per hour), counted in memory and flushed in batches. */
  readonly activity: KeyActivity;
  /** Counters shared by every instance when REDIS_URL is set (sign-in throttling, rate limits). */
  readonly rateLimiter: RateLimiter;
  /** Periodic housekeeping; started by the server only (not by the CLI or tests). */
  readonly scheduler: Scheduler;
  /** Starts the background work a server runs: the scheduled jobs and, on SQLite, the WAL checkpointer. */
  start(): void;
  /** Stops background work and closes connections. */
  close(): Promise<void>;
}

export interface ContextOptions {
  /** A frozen clock for tests; the real one otherwise. */
  clock?: () => Date;
  /** Open an existing storage instead of the configured one (tests share one per file). */
  storage?: Storage;
  /** The CLI needs no change listener: it only writes. */
  listen?: boolean;
  /** A server makes TESSERA_PUBLIC_URL the token issuer; the CLI uses the stored one (default: true). */
  adoptPublicUrl?: boolean;
}

/** Opens the database, runs migrations, loads signing keys and wires the services. */
export async function createContext(config: Config, log: Logger, options: ContextOptions = {}): Promise<Context> {
  const clock = options.clock ?? (() => new Date());
  const storage = options.storage ?? openStorage(config);
  /** Stopped again if the context cannot be made (its listener and instance row must not outlive it). */
  let openedChanges: ChangeBus | undefined;
  try {
    await migrateToLatest(storage.db);
    const box = new SecretBox(config.secret);
    const listen = options.listen !== false;
    const changes = new ChangeBus(storage, config.databaseUrl, log, { listen });
    openedChanges = changes;
    const transactions = new Transactions(storage, clock, changes);
    if (listen) await changes.start();
    const signingKeys = new SigningKeyStore(storage.db, box, clock);
    await signingKeys.init();
    const issuers = await TokenIssuerStore.open(storage.db, transactions, config, { adopt: options.adoptPublicUrl !== false, now: clock() });
    const tokens = new TokenService(signingKeys, issuers, clock);
    const authenticator = new Authenticator();
    const rateLimiter: RateLimiter = config.redisUrl === undefined ? new MemoryRateLimiter(clock) : new RedisRateLimiter(config.redisUrl, clock, log);
    // Keys' own rate limits and the audit windows of refused addresses: shared through Redis
    // when there is one; else counted here, in a limiter of their own (asked synchronously, and
    // apart from the sign-in counts, which a flood of keys' counters must not push out).
    const keyLimiter = config.redisUrl === undefined ? new MemoryRateLimiter(clock) : rateLimiter;
    const accessKeyAuth = new AccessKeyAuthenticator(storage, tokens, changes, clock, { rateLimiter: keyLimiter });
    accessKeyAuth.onAddressRefused(new RefusedAddressAudit(transactions, keyLimiter, log).record);
    authenticator.useBearer('accessKey', accessKeyAuth.verify);
    const accessKeys = new AccessKeyService(storage.db, transactions, tokens, clock, config.maxKeyDays);
    const users = new UserService(storage.db, transactions, clock, config.publicUrl);
    const cloudAccounts = new CloudAccountService(storage.db, transactions);
    // At most 200 accounts a page (~80 KB): 128 pages stay under ~10 MB.
    const cloudAccountPages = new ReadCache<Buffer>(changes, ['cloud-account'], 128);
    const credentials = new CredentialService(storage.db, transactions, box);
    const assets = new AssetService(storage.db, transactions);
    const policy = new PolicyService(storage.db, transactions);
    const reports = new ReportService(storage.db);
    const databaseAvailability = new DatabaseAvailability(storage, log);
    const scheduler = new Scheduler(storage, log, databaseAvailability.failed);
    // SQLite: copies the write-ahead log back into the database off the request path.
    const checkpointer = storage.sqlite === undefined ? undefined : new WalCheckpointer(storage.sqlite, log);
    const signIn = new SignInService(storage.db, transactions, rateLimiter, clock, log);
    const sessions = new SessionService(storage.db, transactions, clock, {
      idleMinutes: config.sessionIdleMinutes,
      absoluteHours: config.sessionAbsoluteHours,
      secure: config.publicUrl.startsWith('https:'),
    });
    authenticator.useSession(sessions.resolve);
    const userTokens = new UserTokens(storage.db, tokens, transactions);
    authenticator.useBearer('user', userTokens.verify);
    const audit = new AuditService(storage.db, clock, config.auditRetentionDays);
    const usage = new KeyUsage(storage.db, storage.dialect, log);
    accessKeyAuth.onUse(usage.record);
    const activity = new KeyActivity(storage.db, storage.dialect, log, clock, config.keyActivityDays);
    scheduler.every('audit-retention', 60 * 60 * 1000, async () => void (await audit.sweep()));
    // Disables keys unused beyond the access key policy's limit (a no-op without one).
    scheduler.every(DORMANT_KEYS_JOB, 60 * 60 * 1000, async () => void (await accessKeys.disableDormant(SYSTEM_ACTOR)), { atStart: true });
    scheduler.every('session-cleanup', 10 * 60 * 1000, async () => void (await sessions.sweep()));
    // Instance scope: every instance flushes what it counted (no lock, no job_runs row).
    scheduler.every(usage.jobName, USAGE_FLUSH_INTERVAL_MS, () => usage.flush(), { scope: 'instance' });
    const webhooks = new WebhookService(storage.db, transactions, box, config.webhookAllowPrivate);
    const webhookSender = new WebhookSender(storage.db, box, clock, log, { allowPrivate: config.webhookAllowPrivate });
    const expiryWarnings = new ExpiryWarnings(storage.db, transactions, clock, config.expiryWarningDays);
    scheduler.every(WEBHOOK_DELIVERY_JOB, WEBHOOK_DELIVERY_INTERVAL_MS, async () => void (await webhookSender.deliverDue()));
    scheduler.every(WEBHOOK_RETENTION_JOB, 60 * 60 * 1000, async () => void (await webhookSender.prune()));
    scheduler.every(EXPIRY_WARNING_JOB, EXPIRY_WARNING_INTERVAL_MS, async () => void (await expiryWarnings.run()));
    scheduler.every(activity.jobName, USAGE_FLUSH_INTERVAL_MS, () => activity.flush(), { scope: 'instance' });
    // Shared data: once per interval in the whole cluster.
    scheduler.every(ACTIVITY_PRUNE_JOB, ACTIVITY_PRUNE_INTERVAL_MS, async () => void (await activity.prune()), { atStart: true });
    // Another process changed what these hold: read it again. Kept as loaded when the database
    // cannot answer (the listener's reconnect reloads it).
    const reloadOn = (kind: ChangeKind, reload: () => Promise<void>, what: string) =>
      changes.subscribe([kind], () => {
        void reload().catch((err: unknown) => (isDatabaseUnavailable(err) ? databaseAvailability.failed(err) : log.error({ err }, `${what} reload failed`)));
      });
    reloadOn('signing-key', () => signingKeys.reload(), 'signing key');
    reloadOn('token-issuer', () => issuers.reload(), 'token issuer');
    return {
      config,
      log,
      clock,
      storage,
      databaseAvailability,
      box,
      transactions,
      changes,
      signingKeys,
      tokens,
      get issuer() {
        return issuers.issuer;
      },
      authenticator,
      accessKeys,
      accessKeyAuth,
      users,
      cloudAccounts,
      cloudAccountPages,
      credentials,
      assets,
      policy,
      reports,
      sessions,
      userTokens,
      signIn,
      audit,
      usage,
      webhooks,
      webhookSender,
      expiryWarnings,
      activity,
      rateLimiter,
      scheduler,
      start: () => {
        scheduler.start();
        // Hourly is not soon enough after a start: a warning due meanwhile goes out now (once per cluster all the same).
        void scheduler.runNow(EXPIRY_WARNING_JOB);
        checkpointer?.start();
      },
      close: async () => {
        // A delivery run would otherwise hold the stop for up to its time budget.
        webhookSender.stop();
        await scheduler.stop();
        await checkpointer?.stop();
        // What this instance counted must not be lost with it.
        await usage.flush().catch((err: unknown) => log.error({ err }, 'final key usage flush failed'));
        await activity.flush().catch((err: unknown) => log.error({ err }, 'final key activity flush failed'));
        await changes.stop();
        databaseAvailability.close();
        cloudAccountPages.close();
        await rateLimiter.close();
        if (options.storage === undefined) await storage.close();
      },
    };
  } catch (error) {
    await openedChanges?.stop();
    if (options.storage === undefined) await storage.close();
    throw error;
  }
}
