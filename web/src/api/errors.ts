/**
 * Error codes to words. The server's codes are a closed union (src/http/errors.ts); this map
 * is typed against it, so a new code on the server fails the console's typecheck until it has
 * a message here. The UI shows these messages and never parses the server's text.
 */
import { ERRORS, type ErrorCode, type FieldError, type RequestPart } from '../../../src/http/errors.ts';

/**
 * The codes the console can meet: the server's, plus two of its own for answers that carry
 * none (the server was not reached; something else answered, such as a proxy's error page).
 */
export type ConsoleErrorCode = ErrorCode | 'network_error' | 'unexpected_response';

export interface Problem {
  status: number;
  code: ConsoleErrorCode;
  title: string;
  detail: string;
  errors?: FieldError[];
  unknownAccounts?: string[];
  /** How long the server asked the client to wait (its `Retry-After`), in seconds. */
  retryAfterSeconds?: number;
}

/**
 * A `Retry-After` header in seconds: either form of RFC 9110 §10.2.3 (a number of seconds or
 * an HTTP date). `undefined` when absent or unreadable.
 */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // An HTTP date names its day and month ("Mon, 07 Dec 2026 16:15:00 GMT").
  const at = /^[A-Za-z]{3}, /.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** A wait in words a person reads at a glance: "30 seconds", "15 minutes", "2 hours". */
export function waitInWords(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds < 60) return plural(Math.max(1, seconds), 'second');
  if (seconds < 3600) return plural(Math.ceil(seconds / 60), 'minute');
  return plural(Math.ceil(seconds / 3600), 'hour');
}

/**
 * The code of an error answer: the server's, when it sent one the registry knows. Anything
 * else is never guessed from the status (many codes share one): a gateway's 502–504 means the
 * server is not available; the rest is an unexpected response.
 */
export function codeOf(sent: unknown, status: number): ConsoleErrorCode {
  if (typeof sent === 'string' && Object.hasOwn(ERRORS, sent)) return sent as ErrorCode;
  return status === 502 || status === 503 || status === 504 ? 'service_unavailable' : 'unexpected_response';
}

const MESSAGES: Record<ConsoleErrorCode, string> = {
  validation_failed: 'Some values are not valid. Check the highlighted fields.',
  unknown_accounts: 'One or more of the selected cloud accounts no longer exist. Refresh the list and choose again.',
  policy_violation: 'The access key policy does not allow this. Choose a shorter expiration or add a description.',
  invalid_grant: 'That combination of roles is not valid.',
  invitation_invalid: 'This invitation link is invalid, has already been used, or has expired. Ask your administrator for a new one.',
  invalid_token: 'Your session has ended. Please sign in again.',
  invalid_credentials: 'The email or password is wrong.',
  insufficient_scope: 'Your roles do not allow this.',
  csrf_failed: 'Your session could not be verified. Reload the page and try again.',
  ip_not_allowed: "This access key's network allowlist does not include the address of this request.",
  not_found: 'It no longer exists: someone may have removed it. Refresh the list.',
  name_taken: 'An access key with this name already exists. Choose a unique name.',
  email_taken: 'A user with this email already exists.',
  conflict: 'This conflicts with a recent change. Refresh and try again.',
  primary_user_protected: 'The primary user cannot be deleted or lose the Global Admin role.',
  payload_too_large: 'That is too much data to send at once.',
  unsupported_media_type: 'The console sent a request the server does not accept. Reload the page.',
  too_many_requests: 'Too many attempts. Wait a moment and try again.',
  rate_limited: "This access key's rate limit is reached. Wait a moment and try again.",
  header_too_large: 'The request was too large. Sign out and in again.',
  request_timeout: 'The request took too long to arrive. Check your connection and try again.',
  internal_error: 'Something went wrong on the server. Try again; if it persists, check the server log.',
  service_unavailable: 'The server is not available right now. Try again in a moment.',
  database_unavailable: 'The server cannot reach its database right now. Try again in a moment.',
  network_error: 'The server cannot be reached. Check your connection and try again.',
  unexpected_response: 'The server gave an answer the console does not understand. Reload the page and try again.',
};

/** An API failure, with the problem's stable code. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }
  get code(): ConsoleErrorCode {
    return this.problem.code;
  }
  get status(): number {
    return this.problem.status;
  }
  /**
   * The server's complaint about a field or anything inside it: `pointer` is a JSON Pointer
   * into `part`, as the server's field errors carry them (`/expiration` matches
   * `/expiration/days`, not `/expirations`).
   */
  fieldError(pointer: string, part: RequestPart = 'body'): string | undefined {
    return this.problem.errors?.find((e) => e.in === part && (e.pointer === pointer || e.pointer.startsWith(`${pointer}/`)))?.message;
  }
}

/** The words for any error the console can meet. */
export function messageFor(error: unknown): string {
  if (error instanceof ApiError) {
    const wait = error.problem.retryAfterSeconds;
    if (error.code === 'too_many_requests' && wait !== undefined) return `Too many attempts. Try again in ${waitInWords(wait)}.`;
    // Which answer it was helps whoever reads the server log.
    return error.code === 'unexpected_response' ? `${MESSAGES.unexpected_response} (HTTP ${error.status})` : MESSAGES[error.code];
  }
  return 'Something went wrong in the console. Reload the page and try again.';
}
