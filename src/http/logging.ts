import type { FastifyRequest } from 'fastify';
import pino, { type Logger, type LoggerOptions } from 'pino';
import type { Config } from '../config.ts';

/** Paths pino blanks wherever they appear: credentials never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.token',
  '*.password',
  '*.secret',
  '*.csrfToken',
  '*.access_token',
  '*.tokenHash',
  '*.token_hash',
  '*.password_hash',
];

const JWT_LIKE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
const SENSITIVE_PARAM = /^(token|access_token|key|api_key|apikey|secret|password|jwt|code)$/i;

/** A URL fit for a log line: sensitive query values and anything token-shaped blanked. */
export function loggableUrl(url: string): string {
  const [path = '', query] = url.split('?', 2);
  const safePath = path.replace(JWT_LIKE, '[redacted]');
  if (query === undefined) return safePath;
  const params = new URLSearchParams(query);
  for (const [name] of params) if (SENSITIVE_PARAM.test(name)) params.set(name, '[redacted]');
  return `${safePath}?${params.toString().replace(JWT_LIKE, '[redacted]')}`;
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

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino(loggerOptions(config));
}
