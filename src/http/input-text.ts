import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonPointer, validationFailed } from './errors.ts';

declare global {
  interface String {
    /** ES2024 (Node 20+): false when the string holds an unpaired UTF-16 surrogate. */
    isWellFormed(): boolean;
  }
}

/** Whether a string is text every store keeps as sent: well-formed UTF-16 (no lone surrogate) and no NUL. */
function isStorableText(text: string): boolean {
  return text.isWellFormed() && !text.includes('\0');
}

/**
 * Whether every string and property name in `value` is storable text. Iterative, as bodies
 * can nest deeper than the call stack, and it builds no field path: this runs on every request.
 */
function allStorable(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      if (!isStorableText(next)) return false;
    } else if (Array.isArray(next)) {
      for (const item of next) if (typeof item === 'object' || typeof item === 'string') pending.push(item);
    } else if (typeof next === 'object' && next !== null) {
      for (const key in next) {
        if (!isStorableText(key)) return false;
        pending.push((next as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
}

/** The JSON Pointer to the first bad string or property name in `value` (the slow path, for the error). */
function pointerToBadText(value: unknown): string | undefined {
  const pending: Array<[unknown, string]> = [[value, '']];
  while (pending.length > 0) {
    const [next, at] = pending.shift() as [unknown, string];
    if (typeof next === 'string') {
      if (!isStorableText(next)) return at;
    } else if (typeof next === 'object' && next !== null) {
      for (const [key, item] of Object.entries(next)) {
        // A bad property name is reported at its object: the name itself is not echoed.
        if (!isStorableText(key)) return at;
        pending.push([item, at + jsonPointer(key)]);
      }
    }
  }
  return undefined;
}

/**
 * The JSON Pointer (`/roles/0/accounts`, `""` for `value` itself) to the first string or
 * property name in `value` that is not storable text, or `undefined` when all are.
 */
export function badTextPointer(value: unknown): string | undefined {
  return allStorable(value) ? undefined : pointerToBadText(value);
}

const ESCAPE_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * One `application/x-www-form-urlencoded` component, decoded. Escapes that do not decode to
 * UTF-8 (`%ED%B0%80`, a lone `%C3`) become lone surrogates U+DC00+byte, as Python's
 * "surrogateescape" does, instead of staying as literal text: the one text check then refuses
 * them and names the field. A `%` not followed by two hex digits stays literal, as browsers read it.
 */
function decodeComponent(text: string): string {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  return spaced.replace(ESCAPE_RUN, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      let escaped = '';
      for (let i = 0; i < run.length; i += 3) escaped += String.fromCharCode(0xdc00 + Number.parseInt(run.slice(i + 1, i + 3), 16));
      return escaped;
    }
  });
}

/**
 * Parses a query string or a form body (the same format); a repeated name gives an array.
 * Used for both, so that they decode alike.
 */
export function parseUrlEncoded(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = Object.create(null);
  if (text.length === 0) return fields;
  for (const pair of text.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
    const prior = fields[name];
    if (prior === undefined) fields[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else fields[name] = [prior, value];
  }
  return fields;
}

/** The error for the first bad string in one part of a request, if any. */
function badText(part: 'path' | 'query' | 'body', value: unknown): Error | undefined {
  const pointer = badTextPointer(value);
  return pointer === undefined
    ? undefined
    : validationFailed(pointer, 'is not valid text (it holds a NUL character, an unpaired surrogate or bytes that are not UTF-8)', part);
}

/**
 * The one check of every string that enters the API, before any handler and before schema
 * validation: the parsed body (JSON or form, nested fields and array items, names included),
 * the query string and the path parameters. PostgreSQL cannot store NUL (it answered 500), and
 * a lone surrogate cannot be encoded as UTF-8 (SQLite stored both "a\udc00b" and "a\udc01b" as
 * the same name): both answer 400 validation_failed naming the field. Header values need no
 * check: Node's parser refuses NUL in them and reads them as Latin-1, which has no surrogates.
 */
export const inputText = fp(
  async (app: FastifyInstance) => {
    // Three plain calls, not a loop over a list: no array is made on every request.
    app.addHook('preValidation', (request, _reply, done) => {
      done(badText('path', request.params) ?? badText('query', request.query) ?? badText('body', request.body));
    });
  },
  { name: 'input-text' },
);
