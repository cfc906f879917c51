import { randomFillSync } from 'node:crypto';

/** Random bits are drawn from the system a few kilobytes at a time: one call per 409 ids, not one per id. */
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

/**
 * A UUID version 7 (RFC 9562): the Unix time in milliseconds, then 74 random bits. Ids made one
 * after another sort one after another, so a new row's entry in an index on the id (or on a
 * value then the id) lands next to the previous one instead of on a random page: fewer pages
 * written per commit, and rows made together share them.
 */
export function timeOrderedId(nowMs: number = Date.now()): string {
  if (used + 10 > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(nowMs, 0, 6);
  pool.copy(bytes, 6, used, used + 10);
  used += 10;
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
