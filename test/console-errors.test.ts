import { describe, expect, it } from 'vitest';
import { ApiError, codeOf, messageFor, parseRetryAfter, waitInWords, type Problem } from '../web/src/api/errors.ts';
import { normalizeName } from '../src/access-keys/access-key.ts';
import { normalizeDisplayName } from '../src/users/user.ts';
import { ACCESS_KEY_NAME_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH, visibleLength } from '../src/shared/limits.ts';

const invalid = (errors: Problem['errors']) => new ApiError({ status: 400, code: 'validation_failed', title: 't', detail: 'd', errors });

describe("the console's error codes", () => {
  it('keeps a code the registry knows', () => {
    expect(codeOf('name_taken', 409)).toBe('name_taken');
    expect(codeOf('conflict', 409)).toBe('conflict');
  });
  it('never guesses a code from the status (regression: an unknown code took the first with its status)', () => {
    expect(codeOf('brand_new_code', 409)).toBe('unexpected_response');
    expect(codeOf(undefined, 400)).toBe('unexpected_response');
    expect(codeOf('toString', 400)).toBe('unexpected_response');
    expect(codeOf(undefined, 502)).toBe('service_unavailable');
    expect(messageFor(new ApiError({ status: 418, code: codeOf('teapot', 418), title: '', detail: '' }))).toMatch(/\(HTTP 418\)$/);
  });
});

describe('the console\'s lockout message (regression: "Wait a moment" while the server said 15 minutes)', () => {
  const throttled = (retryAfterSeconds?: number) => new ApiError({ status: 429, code: 'too_many_requests', title: 't', detail: 'd', retryAfterSeconds });
  it('reads Retry-After in seconds or as an HTTP date', () => {
    expect(parseRetryAfter('900')).toBe(900);
    expect(parseRetryAfter(' 30 ')).toBe(30);
    const now = Date.parse('2026-12-07T16:00:00Z');
    expect(parseRetryAfter('Mon, 07 Dec 2026 16:15:00 GMT', now)).toBe(900);
    expect(parseRetryAfter('Mon, 07 Dec 2026 15:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
  });
  it('says how long to wait, in the unit a person reads', () => {
    expect(waitInWords(1)).toBe('1 second');
    expect(waitInWords(45)).toBe('45 seconds');
    expect(waitInWords(61)).toBe('2 minutes');
    expect(waitInWords(900)).toBe('15 minutes');
    expect(waitInWords(7200)).toBe('2 hours');
    expect(messageFor(throttled(900))).toBe('Too many attempts. Try again in 15 minutes.');
    expect(messageFor(throttled(undefined))).toBe('Too many attempts. Wait a moment and try again.');
  });
});

describe("the console's field matching", () => {
  it('matches a field and what is inside it by JSON Pointer, in the body unless told', () => {
    const error = invalid([
      { in: 'body', pointer: '/expiration/days', message: 'must be a whole number' },
      { in: 'query', pointer: '/name', message: 'bad' },
    ]);
    expect(error.fieldError('/expiration')).toBe('must be a whole number');
    expect(error.fieldError('/expiration/days')).toBe('must be a whole number');
    expect(invalid([{ in: 'body', pointer: '/expirations', message: 'x' }]).fieldError('/expiration')).toBeUndefined();
    expect(error.fieldError('/name')).toBeUndefined();
    expect(error.fieldError('/name', 'query')).toBe('bad');
  });
});

describe('limits shared by server and console', () => {
  it('count characters as the server does: code points after NFC and trimming, not UTF-16 units', () => {
    const rockets = '🚀'.repeat(ACCESS_KEY_NAME_MAX_LENGTH);
    expect(rockets.length).toBe(2 * ACCESS_KEY_NAME_MAX_LENGTH);
    expect(visibleLength(` ${rockets} `)).toBe(ACCESS_KEY_NAME_MAX_LENGTH);
    expect(normalizeName(` ${rockets} `)).toBe(rockets);
    expect(() => normalizeName(`${rockets}x`)).toThrow(/at most 64/);
    // "e" + combining acute is one character once composed (NFC), on both sides.
    const composed = 'e\u0301'.repeat(DISPLAY_NAME_MAX_LENGTH);
    expect(visibleLength(composed)).toBe(DISPLAY_NAME_MAX_LENGTH);
    expect(normalizeDisplayName(composed)).toBe('\u00e9'.repeat(DISPLAY_NAME_MAX_LENGTH));
  });
});
