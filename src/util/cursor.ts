import { validationFailed } from '../http/errors.ts';

/** Encodes a keyset position as an opaque cursor. */
export function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

/** Decodes a cursor made by encodeCursor with `count` parts; anything else is a 400 naming `cursor`. */
export function decodeCursor(cursor: string, count: number): string[] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === count && parts.every((p) => typeof p === 'string')) return parts as string[];
  } catch {
    // reported below
  }
  throw validationFailed('/cursor', 'is not a cursor this list returned', 'query');
}
