import type { FastifyContextConfig, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Context } from '../context.ts';
import { routeConfigOf } from '../http/access-control.ts';
import { RedisRateLimiter } from '../rate-limit/redis-rate-limiter.ts';

/** Label for requests that matched no route: one series, whatever paths scanners try. */
const UNMATCHED = 'unmatched';

/** The request duration histogram's upper bounds, seconds. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What was counted of one method and route pattern. */
interface RouteCounts {
  readonly method: string;
  readonly route: string;
  /** Answers by status code. */
  readonly statuses: Map<number, number>;
  /** Answers per duration bucket (not cumulative): index i holds durations ≤ DURATION_BUCKETS[i] and above the bound before; the last, those above every bound. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

/**
 * Request and authentication counts, kept in plain objects: a request costs a map lookup and
 * a few additions, where prom-client's labelled counters and histograms hash their label
 * objects on every call. Turned into Prometheus series when scraped.
 */
export class RequestCounts {
  /**
   * By method, then route pattern: the strings a request already holds (their hashes cached),
   * where a compound key would be a new string to build and hash on every request.
   */
  readonly #routes = new Map<string, Map<string, RouteCounts>>();
  readonly #auth = new Map<string, Map<string, { outcome: string; reason: string; count: number }>>();

  /** Counts one answer of `route` (a route pattern, or UNMATCHED). */
  answered(method: string, route: string, status: number, seconds: number): void {
    let byRoute = this.#routes.get(method);
    if (byRoute === undefined) this.#routes.set(method, (byRoute = new Map()));
    let counts = byRoute.get(route);
    if (counts === undefined) {
      counts = { method, route, statuses: new Map(), buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      byRoute.set(route, counts);
    }
    counts.statuses.set(status, (counts.statuses.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    counts.buckets[bucket]!++;
    counts.sum += seconds;
    counts.count++;
  }

  /** Counts one authentication outcome. */
  auth(outcome: string, reason: string): void {
    let byReason = this.#auth.get(outcome);
    if (byReason === undefined) this.#auth.set(outcome, (byReason = new Map()));
    const entry = byReason.get(reason);
    if (entry === undefined) byReason.set(reason, { outcome, reason, count: 1 });
    else entry.count++;
  }

  *routes(): Iterable<RouteCounts> {
    for (const byRoute of this.#routes.values()) yield* byRoute.values();
  }

  *authOutcomes(): Iterable<{ outcome: string; reason: string; count: number }> {
    for (const byReason of this.#auth.values()) yield* byReason.values();
  }

  /**
   * The duration histogram as a metric for a prom-client registry (`registerMetric`): the
   * series prom-client's own Histogram writes (`_bucket` by `le`, cumulative, `_sum`, `_count`).
   */
  durationMetric(name: string, help: string) {
    return {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => {
        const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
        for (const r of this.routes()) {
          const labels = { method: r.method, route: r.route };
          let cumulative = 0;
          r.buckets.forEach((n, i) => {
            cumulative += n;
            values.push({ metricName: `${name}_bucket`, labels: { le: i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i]! : '+Inf', ...labels }, value: cumulative });
          });
          values.push({ metricName: `${name}_sum`, labels, value: r.sum }, { metricName: `${name}_count`, labels, value: r.count });
        }
        return { name, help, type: 'histogram', aggregator: 'sum', values };
      },
    };
  }
}

/**
 * The Prometheus metrics of one Tessera instance, in their own registry (several apps may
 * live in one process, as in the tests). Request and auth counters are fed by the ops
 * plugin's onResponse hook; the rest is read from the context when Prometheus scrapes.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests = new RequestCounts();
  readonly #lag: Histogram;

  constructor(ctx: Context) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tessera_process_' });

    // Requests are counted in plain objects (see RequestCounts) and exported when scraped.
    const requests = this.#requests;
    new Counter({
      name: 'tessera_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
      collect() {
        this.reset();
        for (const r of requests.routes()) for (const [status, n] of r.statuses) this.inc({ method: r.method, route: r.route, status: String(status) }, n);
      },
    });
    this.registry.registerMetric(
      requests.durationMetric('tessera_http_request_duration_seconds', 'Time to answer an HTTP request, by method and route pattern.') as never,
    );
    new Counter({
      name: 'tessera_auth_total',
      help: 'Authentication outcomes on non-public routes: success (reason = how: api-key, user-token, session), failure (reason = why), refused (a valid key used from outside its allowlist or over its rate limit: reason ip-not-allowed or rate-limited), forbidden (authenticated but not permitted).',
      labelNames: ['outcome', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const a of requests.authOutcomes()) this.inc({ outcome: a.outcome, reason: a.reason }, a.count);
      },
    });
    this.#lag = new Histogram({
      name: 'tessera_change_propagation_seconds',
      help: 'Time from a change committed (NOTIFY) on another instance to its cache invalidation applied here.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    ctx.changes.onApplied((lagMs) => this.#lag.observe(lagMs / 1000));

    const cache = ctx.accessKeyAuth.cacheStats;
    new Counter({
      name: 'tessera_access_key_cache_lookups_total',
      help: 'Access-key cache lookups: cache "token" (verified tokens) or "state" (key state), result hit or miss.',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        this.reset();
        this.inc({ cache: 'token', result: 'hit' }, cache.tokenHits);
        this.inc({ cache: 'token', result: 'miss' }, cache.tokenMisses);
        this.inc({ cache: 'state', result: 'hit' }, cache.stateHits);
        this.inc({ cache: 'state', result: 'miss' }, cache.stateMisses);
      },
    });
    new Gauge({
      name: 'tessera_access_key_cache_hit_ratio',
      help: 'Share of access-key lookups answered from cache since start (hits / lookups), per cache.',
      labelNames: ['cache'],
      registers,
      collect() {
        const ratio = (hits: number, misses: number) => (hits + misses === 0 ? 0 : hits / (hits + misses));
        this.set({ cache: 'token' }, ratio(cache.tokenHits, cache.tokenMisses));
        this.set({ cache: 'state' }, ratio(cache.stateHits, cache.stateMisses));
      },
    });

    const pages = ctx.cloudAccountPages.stats;
    new Counter({
      name: 'tessera_read_cache_lookups_total',
      help: 'Lookups in caches of read answers (cache "cloud-account-pages": pages of the cloud-accounts list), result hit or miss.',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        this.reset();
        this.inc({ cache: 'cloud-account-pages', result: 'hit' }, pages.hits);
        this.inc({ cache: 'cloud-account-pages', result: 'miss' }, pages.misses);
      },
    });

    const changes = ctx.changes;
    new Gauge({
      name: 'tessera_change_listener_connected',
      help: '1 while changes of other instances are heard (PostgreSQL LISTEN connected; always 1 on SQLite), else 0 (key state is then read from SQL).',
      registers,
      collect() {
        this.set(changes.live ? 1 : 0);
      },
    });
    new Counter({
      name: 'tessera_change_listener_disconnects_total',
      help: 'Times the change listener lost its database connection.',
      registers,
      collect() {
        this.reset();
        this.inc(changes.stats.disconnects);
      },
    });
    new Counter({
      name: 'tessera_changes_applied_total',
      help: "Changes heard from other processes and applied to this instance's caches.",
      registers,
      collect() {
        this.reset();
        this.inc(changes.stats.applied);
      },
    });

    const acknowledgements = changes.acknowledgements;
    if (acknowledgements !== undefined) {
      new Counter({
        name: 'tessera_change_acknowledgements_total',
        help: 'Access-reducing writes made here, by outcome: confirmed (every live instance applied it before the answer), instance_lost (an instance went silent without confirming and was not waited for), timed_out (answered at the bound). Instances behind answer from SQL until caught up.',
        labelNames: ['outcome'],
        registers,
        collect() {
          this.reset();
          this.inc({ outcome: 'confirmed' }, acknowledgements.stats.confirmed);
          this.inc({ outcome: 'instance_lost' }, acknowledgements.stats.instanceLost);
          this.inc({ outcome: 'timed_out' }, acknowledgements.stats.timedOut);
        },
      });
      const wait = new Histogram({
        name: 'tessera_change_acknowledgement_seconds',
        help: 'Time an access-reducing write waited, after its commit, for every live instance to apply it.',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5],
        registers,
      });
      acknowledgements.onWaited((seconds) => wait.observe(seconds));
    }
    const instances = changes.instances;
    if (instances !== undefined) {
      new Gauge({
        name: 'tessera_instance_confirmed',
        help: '1 while a recent heartbeat confirmed that this instance has applied every access-reducing change, else 0 (its caches are then unused: key state is read from SQL).',
        registers,
        collect() {
          this.set(instances.confirmed ? 1 : 0);
        },
      });
      new Counter({
        name: 'tessera_instance_confirmation_lapses_total',
        help: 'Times this instance could not confirm its caches within the window (heartbeat failing or late) and answered from SQL until caught up.',
        registers,
        collect() {
          this.reset();
          this.inc(instances.stats.lapses);
        },
      });
    }
    const availability = ctx.databaseAvailability;
    new Gauge({
      name: 'tessera_database_available',
      help: '0 during a database outage (requests that need the database answer 503 database_unavailable), else 1.',
      registers,
      collect() {
        this.set(availability.down ? 0 : 1);
      },
    });
    new Counter({
      name: 'tessera_database_outages_total',
      help: 'Database outages seen by this instance (each logged once, with its end).',
      registers,
      collect() {
        this.reset();
        this.inc(availability.stats.outages);
      },
    });

    const pool = ctx.storage.pool;
    if (pool !== undefined) {
      new Gauge({
        name: 'tessera_db_pool_connections',
        help: 'PostgreSQL pool connections by state: total (open), idle, waiting (requests queued for a connection), max (the limit).',
        labelNames: ['state'],
        registers,
        collect() {
          this.set({ state: 'total' }, pool.totalCount);
          this.set({ state: 'idle' }, pool.idleCount);
          this.set({ state: 'waiting' }, pool.waitingCount);
          this.set({ state: 'max' }, pool.options.max ?? 10);
        },
      });
    }

    const limiter = ctx.rateLimiter;
    if (limiter instanceof RedisRateLimiter) {
      new Gauge({
        name: 'tessera_rate_limiter_shared',
        help: '1 while rate limits are counted in Redis (shared by all instances), 0 while Redis is unreachable and counts are per instance.',
        registers,
        collect() {
          this.set(limiter.backend === 'redis' ? 1 : 0);
        },
      });
    }
  }

  /** Counts one answered request (called from onResponse). */
  observe(request: FastifyRequest, reply: FastifyReply): void {
    // A 404 may have no route config.
    const config = routeConfigOf(request) as (FastifyContextConfig & { url?: string }) | undefined;
    const route = config?.url ?? UNMATCHED;
    const status = reply.statusCode;
    this.#requests.answered(request.method, route, status, reply.elapsedTime / 1000);
    const access = config?.access;
    if (route === UNMATCHED || access === undefined || access === 'public') return;
    if (request.principal !== null) this.#requests.auth('success', request.principal.via);
    else if (request.authFailure !== null) this.#requests.auth('failure', request.authFailure);
    else if (request.authRefusal !== null) this.#requests.auth('refused', request.authRefusal);
    else if (status === 403) this.#requests.auth('forbidden', 'not-permitted');
  }

  /** The text exposition format Prometheus scrapes. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
