/**
 * Error codes to words. The server's codes are a closed union (src/http/errors.ts); this map
 * is typed against it, so a new code on the server fails the console's typecheck until it has
 * a message here. The UI shows these messages and never parses the server's text.
 */
import type { ErrorCode } from '../../../src/http/errors.ts';

export interface Problem {
  status: number;
  code: string;
  title: string;
  detail: string;
  errors?: { field: string; message: string }[];
  unknownAccounts?: string[];
}

const MESSAGES: Record<ErrorCode | 'network_error', string> = {
  validation_failed: 'Some values are not valid. Check the highlighted fields.',
  unknown_accounts: 'One or more of the selected cloud accounts no longer exist. Refresh the list and choose again.',
  invalid_grant: 'That combination of roles is not valid.',
  invitation_invalid: 'This invitation link is invalid, has already been used, or has expired. Ask your administrator for a new one.',
  invalid_token: 'Your session has ended. Please sign in again.',
  invalid_credentials: 'The email or password is wrong.',
  insufficient_scope: 'Your roles do not allow this.',
  csrf_failed: 'Your session could not be verified. Reload the page and try again.',
  not_found: 'It no longer exists: someone may have removed it. Refresh the list.',
  name_taken: 'An access key with this name already exists. Choose a unique name.',
  email_taken: 'A user with this email already exists.',
  conflict: 'This conflicts with a recent change. Refresh and try again.',
  primary_user_protected: 'The primary user cannot be deleted or lose the Global Admin role.',
  payload_too_large: 'That is too much data to send at once.',
  unsupported_media_type: 'The console sent a request the server does not accept. Reload the page.',
  too_many_requests: 'Too many attempts. Wait a moment and try again.',
  header_too_large: 'The request was too large. Sign out and in again.',
  request_timeout: 'The request took too long to arrive. Check your connection and try again.',
  internal_error: 'Something went wrong on the server. Try again; if it persists, check the server log.',
  service_unavailable: 'The server is not available right now. Try again in a moment.',
  database_unavailable: 'The server cannot reach its database right now. Try again in a moment.',
  network_error: 'The server cannot be reached. Check your connection and try again.',
};

/** An API failure, with the problem's stable code. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }
  get code(): string {
    return this.problem.code;
  }
  get status(): number {
    return this.problem.status;
  }
  /** The server's complaint about one field, if it named that field. */
  fieldError(field: string): string | undefined {
    return this.problem.errors?.find((e) => e.field === field || e.field.startsWith(`${field}.`) || e.field.startsWith(`${field}[`))?.message;
  }
}

/** The words for any error the console can meet. */
export function messageFor(error: unknown): string {
  if (error instanceof ApiError) {
    const known = (MESSAGES as Record<string, string>)[error.code];
    return known ?? `The request failed (${error.problem.title || error.status}).`;
  }
  return 'Something went wrong in the console. Reload the page and try again.';
}
