import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import pino, { type Bindings, type ChildLoggerOptions, type Logger, type LoggerOptions } from 'pino';
import type { Config } from '../config.ts';

/**
 * Names of fields that hold a secret in a request or answer body, a config or a row. No log
 * line carries a body today; these are blanked wherever an object that has them is logged
 * (at the top level or one level down), should one ever be.
 */
const SECRET_FIELDS = [
  'token',
  'access_token',
  'client_secret',
  'password',
  'currentPassword',
  'newPassword',
  'password_hash',
  'secret',
  'secretAccessKey',
  'applicationSecret',
  'serviceAccountKey',
  'csrfToken',
  'tokenHash',
  'token_hash',
  'invitationUrl',
  'cookieValue',
  'metricsToken',
];

/** Paths pino blanks wherever they appear: credentials never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-csrf-token"]',
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
];

const JWT_LIKE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
/** Long enough and of the base64url alphabet only: a pasted credential, unless it is an id (a UUID). */
const TOKEN_LIKE_SEGMENT = /^[A-Za-z0-9_-]{32,}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Query parameters whose value is a secret, by a word in their name. */
const SENSITIVE_PARAM = /token|secret|passw|key|csrf|code|jwt|auth|session|cred|sig|invit/i;

function loggablePath(path: string): string {
  // Most paths are short API paths: nothing in them can be blanked, and they are kept as they are
  // without being split (a blanked segment is at least 32 characters, or holds "eyJ").
  if (path.length <= 32 && !path.startsWith('/invite/') && !path.includes('eyJ')) return path;
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    // The console's invitation page: /invite/<token>.
    if (i === 2 && segments[1] === 'invite') segments[i] = '[redacted]';
    else if (segment.length >= 32 && TOKEN_LIKE_SEGMENT.test(segment) && !UUID.test(segment)) segments[i] = '[redacted]';
    else if (segment.includes('eyJ')) segments[i] = segment.replace(JWT_LIKE, '[redacted]');
  }
  return segments.join('/');
}

/**
 * A URL fit for a log line (and for the 404 answer that echoes its path): the token of an
 * invitation link (/invite/<token>), token-shaped or long random path segments, and the
 * values of sensitive, long or token-shaped query parameters are blanked.
 */
export function loggableUrl(url: string): string {
  const queryAt = url.indexOf('?');
  const path = loggablePath(queryAt < 0 ? url : url.slice(0, queryAt));
  if (queryAt < 0) return path;
  const params = new URLSearchParams(url.slice(queryAt + 1));
  for (const [name, value] of params) if (SENSITIVE_PARAM.test(name) || value.length >= 32) params.set(name, '[redacted]');
  return `${path}?${params.toString().replace(JWT_LIKE, '[redacted]')}`;
}

export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, url: loggableUrl(req.url), ip: req.ip }),
    },
  };
}

/**
 * The logger of the one line per request (src/app.ts): the app's logger without its redaction
 * pass. That line's fields are all chosen by the hook that writes it (its URL made loggable by
 * loggableUrl, never a header or a body), so redaction has nothing to blank there, and it is
 * most of what the line costs.
 */
export function requestLineLogger(log: Logger): Logger {
  return log.child({}, { redact: [] });
}

type Log = (...args: unknown[]) => void;

/**
 * A request's logger (`request.log`) whose pino child is made when first used. Pino runs its
 * redaction over a child's bindings when it makes one, and a request that goes well logs
 * nothing through its own logger (its request line is written apart, requestLineLogger), so a
 * child per request would be made for nothing. Lines logged through it are the child's own.
 */
class RequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;
  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}
  get #log(): FastifyBaseLogger {
    this.#child ??= this.parent.child(this.bindings, this.options);
    return this.#child;
  }
  get level(): string {
    return this.#log.level;
  }
  set level(level: string) {
    this.#log.level = level;
  }
  fatal(...args: unknown[]): void {
    (this.#log.fatal as Log)(...args);
  }
  error(...args: unknown[]): void {
    (this.#log.error as Log)(...args);
  }
  warn(...args: unknown[]): void {
    (this.#log.warn as Log)(...args);
  }
  info(...args: unknown[]): void {
    (this.#log.info as Log)(...args);
  }
  debug(...args: unknown[]): void {
    (this.#log.debug as Log)(...args);
  }
  trace(...args: unknown[]): void {
    (this.#log.trace as Log)(...args);
  }
  silent(...args: unknown[]): void {
    (this.#log.silent as Log)(...args);
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#log.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: each request's logger, its pino child made on first use (RequestLogger). */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(logger, bindings, options);
}

/**
 * Log lines are written in blocks of this many bytes (about fifteen request lines), or after
 * LOG_FLUSH_MS, whichever comes first: a write system call per request line costs more than
 * formatting it. Whatever is pending is written when the process exits.
 */
const LOG_BLOCK_BYTES = 4096;
const LOG_FLUSH_MS = 200;
const pendingAtExit = new Set<pino.DestinationStream & { flushSync(): void }>();
let flushesAtExit = false;

/**
 * Where a process's log goes (stdout unless told): a synchronous destination that writes in
 * blocks (LOG_BLOCK_BYTES, or every LOG_FLUSH_MS), and writes what is left on exit, however the
 * process ends short of being killed.
 */
export function logDestination(dest: number | string = 1): pino.DestinationStream {
  const stream = pino.destination({ dest, sync: true, minLength: LOG_BLOCK_BYTES, periodicFlush: LOG_FLUSH_MS });
  if (!flushesAtExit) {
    flushesAtExit = true;
    process.once('exit', () => {
      // Best effort: a closed stdout (a reader that went away) must not turn an exit into a crash.
      for (const pending of pendingAtExit) {
        try {
          pending.flushSync();
        } catch {}
      }
    });
  }
  pendingAtExit.add(stream);
  stream.on('close', () => pendingAtExit.delete(stream));
  return stream;
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino(loggerOptions(config), logDestination());
}
