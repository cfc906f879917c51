import { expect } from 'vitest';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Another spelling of one segment of a compact token, and how it was made. */
export interface Spelling {
  /** 0 header, 1 payload, 2 signature. */
  segment: 0 | 1 | 2;
  how: 'stray bits' | 'padding' | '4n+1 length' | 'standard alphabet';
  token: string;
}

/**
 * Other spellings of a compact token that decode to the same bytes: each segment's last
 * character with its unused low bits set (3 or 15 per segment), padding, a 4n+1 length,
 * and the standard alphabet's '+' and '/'.
 */
export function otherSpellings(token: string): Spelling[] {
  const segments = token.split('.');
  const variants: Spelling[] = [];
  segments.forEach((segment, i) => {
    const add = (how: Spelling['how'], spelled: string) =>
      variants.push({ segment: i as Spelling['segment'], how, token: segments.map((s, j) => (j === i ? spelled : s)).join('.') });
    const tail = segment.length % 4;
    if (tail !== 0) {
      const last = ALPHABET.indexOf(segment.at(-1)!);
      const unused = tail === 2 ? 0b1111 : 0b11;
      for (let bits = 1; bits <= unused; bits++) add('stray bits', segment.slice(0, -1) + ALPHABET[(last & ~unused) | bits]);
      add('padding', segment + '='.repeat(4 - tail));
    }
    add('4n+1 length', segment + 'A'.repeat(tail === 0 ? 1 : 5 - tail));
    add('standard alphabet', segment.replaceAll('-', '+').replaceAll('_', '/'));
  });
  // Each variant still decodes to the very bytes of the original (that is what makes it a forgery risk).
  for (const { token: v } of variants.filter(
    ({ token: v }) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(v) && v.split('.').every((s) => s.length % 4 !== 1),
  )) {
    expect(v.split('.').map((s) => Buffer.from(s, 'base64url').toString('hex'))).toEqual(segments.map((s) => Buffer.from(s, 'base64url').toString('hex')));
  }
  const seen = new Set([token]);
  return variants.filter((v) => !seen.has(v.token) && seen.add(v.token));
}
