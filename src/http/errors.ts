/**
 * The one registry of error codes. Every error a client can see has a code here, with its
 * HTTP status and title; docs/ERRORS.md lists the same codes (a test keeps them in step).
 * A retired code is never reused.
 */
export const ERRORS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  unknown_accounts: { status: 400, title: 'A role grant names cloud accounts that do not exist' },
  policy_violation: { status: 400, title: 'The access key policy does not allow this' },
  invalid_grant: { status: 400, title: 'The grant is not valid' },
  invitation_invalid: { status: 400, title: 'The invitation is invalid, used or expired' },
  invalid_token: { status: 401, title: 'Authentication is required' },
  invalid_credentials: { status: 401, title: 'The email or password is wrong' },
  insufficient_scope: { status: 403, title: 'The credentials do not allow this' },
  csrf_failed: { status: 403, title: 'The CSRF token is missing or wrong' },
  ip_not_allowed: { status: 403, title: "The key's network allowlist does not include this address" },
  not_found: { status: 404, title: 'Not found' },
  name_taken: { status: 409, title: 'The name is already in use' },
  email_taken: { status: 409, title: 'The email is already in use' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  primary_user_protected: { status: 409, title: 'The primary user cannot be deleted or lose Global Admin' },
  request_timeout: { status: 408, title: 'The request was not received in time' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  too_many_requests: { status: 429, title: 'Too many requests' },
  rate_limited: { status: 429, title: "The key's rate limit is reached" },
  header_too_large: { status: 431, title: 'A request header is too large' },
  internal_error: { status: 500, title: 'Something went wrong on our side' },
  service_unavailable: { status: 503, title: 'The service is not available right now' },
  database_unavailable: { status: 503, title: 'The database is not available right now' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The part of a request a field error points into. */
export const REQUEST_PARTS = ['body', 'query', 'path', 'header'] as const;
export type RequestPart = (typeof REQUEST_PARTS)[number];

/**
 * One field-level complaint inside a validation_failed problem: `pointer` is an RFC 6901 JSON
 * Pointer into the part of the request named by `in` (`/expiration/days` in the body, `/id` in
 * the path, `""` for the whole part).
 */
export interface FieldError {
  in: RequestPart;
  pointer: string;
  message: string;
}

/** An error a client caused or may see: it becomes an application/problem+json answer. */
export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string>; [key: string]: unknown } = {},
  ) {
    super(detail);
    this.status = ERRORS[code].status;
  }
}

/** The RFC 9457 body for a code. */
export function problem(code: ErrorCode, detail: string, extra: Record<string, unknown> = {}) {
  const { status, title } = ERRORS[code];
  return { type: `urn:tessera:problem:${code}`, title, status, detail, code, ...extra };
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export const notFound = (what: string) => new AppError('not_found', `${what} was not found.`);

/** An RFC 6901 JSON Pointer from reference tokens: `~` becomes `~0` and `/` becomes `~1`. */
export function jsonPointer(...tokens: ReadonlyArray<string | number>): string {
  return tokens.map((token) => `/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * A field error as a detail text says it: the part, the pointer, the message
 * (`body /expiration/days: must be…`; `body: is not valid JSON` for the whole part).
 */
export function describeFieldError(error: FieldError): string {
  return `${error.pointer === '' ? error.in : `${error.in} ${error.pointer}`}: ${error.message}`;
}

/** A validation_failed problem for these field errors; the detail describes the first. */
export function invalidFields(errors: FieldError[], detail = describeFieldError(errors[0]!)): AppError {
  for (const error of errors) {
    if (error.pointer !== '' && !error.pointer.startsWith('/')) throw new TypeError(`not a JSON Pointer: ${error.pointer}`);
  }
  return new AppError('validation_failed', detail, { errors });
}

/**
 * A validation_failed problem for one field: `pointer` is a JSON Pointer (build one with a
 * dynamic key through jsonPointer) into the request's `part`, the body unless said otherwise.
 */
export const validationFailed = (pointer: string, message: string, part: RequestPart = 'body') => invalidFields([{ in: part, pointer, message }]);
