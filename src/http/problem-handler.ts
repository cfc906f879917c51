import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { INVALID_TOKEN_CHALLENGE } from './access-control.ts';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../db/availability.ts';
import { AppError, ERRORS, invalidFields, problem, PROBLEM_CONTENT_TYPE, type ErrorCode, type FieldError } from './errors.ts';
import { fieldErrors } from './validation.ts';

export function sendProblem(reply: FastifyReply, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}) {
  return reply
    .code(ERRORS[code].status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problem(code, detail, extra));
}

/** A validation_failed answer naming these fields (for errors raised outside any route). */
export function sendInvalidFields(reply: FastifyReply, errors: FieldError[]) {
  const { detail, extra } = invalidFields(errors);
  return sendProblem(reply, 'validation_failed', detail, extra);
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refuses some requests before Fastify
 * sees them (a header over the 16 KB limit, a malformed request line, a request not received
 * in time). Those get problem+json too. Nothing of the request is echoed or logged: its
 * headers may carry a token (Fastify's default logs the raw packet at trace level).
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['header_too_large', 'The request headers are larger than the server accepts (16 KB in all).']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['request_timeout', 'The request was not received in time.']
        : ['validation_failed', 'The request could not be read as HTTP.'];
  const { status } = ERRORS[code];
  this.log.info({ status, parserError: error.code }, 'request refused by the HTTP parser');
  if (socket.writable) {
    const body = JSON.stringify(problem(code, detail));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Fastify's own client errors, mapped to our codes. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
};

/**
 * The code for a 4xx some library raised without one of ours. Only statuses with one generic
 * meaning: a 409 from elsewhere is a `conflict`, never `name_taken`; any other 4xx is a 400.
 */
const CODE_FOR_CLIENT_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'validation_failed',
  401: 'invalid_token',
  403: 'insufficient_scope',
  404: 'not_found',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'header_too_large',
};

/**
 * Every error becomes an application/problem+json answer with a stable `code`. Client
 * errors say what is wrong; a database that cannot serve is a 503 with Retry-After; anything
 * unexpected is a generic 500 whose detail goes to the log only.
 */
export const problemHandler = fp<{ onDatabaseUnavailable?: (error: unknown) => void }>(
  async (app: FastifyInstance, { onDatabaseUnavailable }) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof AppError) {
        const { headers, ...extra } = error.extra;
        if (headers !== undefined) reply.headers(headers);
        // Every 401 carries the RFC 6750 challenge, wherever it was raised.
        if (error.code === 'invalid_token' && headers?.['www-authenticate'] === undefined) reply.header('www-authenticate', INVALID_TOKEN_CHALLENGE);
        return sendProblem(reply, error.code, error.detail, extra);
      }
      if (error.validation !== undefined) {
        const errors = fieldErrors(error.validationContext ?? 'body', error.validation);
        return errors.length === 0 ? sendProblem(reply, 'validation_failed', 'The request is not valid.') : sendInvalidFields(reply, errors);
      }
      const mapped = error.code === undefined ? undefined : FASTIFY_CODES[error.code];
      if (mapped !== undefined) {
        if (mapped !== 'validation_failed') return sendProblem(reply, mapped, error.message);
        return sendInvalidFields(reply, [{ in: 'body', pointer: '', message: 'is not valid JSON' }]);
      }
      if (error instanceof SyntaxError || (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500)) {
        const status = error.statusCode ?? 400;
        const code = CODE_FOR_CLIENT_STATUS[status] ?? 'validation_failed';
        return sendProblem(reply, code, code === 'validation_failed' ? 'The request could not be read.' : ERRORS[code].title);
      }
      if (isDatabaseUnavailable(error)) {
        // An outage, not a bug: logged once per outage by the reporter, not once per request.
        onDatabaseUnavailable?.(error);
        reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
        return sendProblem(reply, 'database_unavailable', 'The database cannot be reached right now. Try again shortly.');
      }
      request.log.error({ err: error }, 'unexpected error');
      return sendProblem(reply, 'internal_error', 'An unexpected error occurred. It has been logged.');
    });
  },
  { name: 'problem-handler' },
);
