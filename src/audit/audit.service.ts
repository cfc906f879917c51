import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { validationFailed } from '../http/errors.ts';
import { decodeCursor, encodeCursor } from '../util/cursor.ts';
import type { AuditAction, AuditCategory, AuditEvent } from './audit-event.ts';
import { deleteAuditEventsBefore, listAuditEventRows, rowToAuditEvent } from './audit.repository.ts';

export interface AuditListOptions {
  limit?: number | undefined;
  cursor?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  actor?: string | undefined;
  category?: AuditCategory | undefined;
  action?: AuditAction | undefined;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
const DAY_MS = 24 * 60 * 60 * 1000;
/** The sweep deletes in batches, so that no single statement holds locks for long. */
const SWEEP_BATCH = 5000;

/** Times as stored: ISO 8601 UTC with milliseconds, so that text comparison is time order. */
function canonicalTime(pointer: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw validationFailed(pointer, 'must be a date-time such as 2026-11-27T12:00:00Z', 'query');
  return new Date(ms).toISOString();
}

/** Reading the audit log, and keeping it within its retention period. */
export class AuditService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: () => Date,
    private readonly retentionDays: number,
  ) {}

  /** Newest first, filtered; `from` is inclusive, `to` exclusive. */
  async list(options: AuditListOptions = {}): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    const limit = Math.min(options.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    let before: { at: string; id: string } | undefined;
    if (options.cursor !== undefined) {
      const [at, id] = decodeCursor(options.cursor, 2) as [string, string];
      before = { at, id };
    }
    const rows = await listAuditEventRows(this.db, {
      limit: limit + 1,
      before,
      from: canonicalTime('/from', options.from),
      to: canonicalTime('/to', options.to),
      actor: options.actor === undefined || options.actor === '' ? undefined : options.actor,
      category: options.category,
      action: options.action,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = rows.length > limit && last !== undefined ? encodeCursor([last.at, last.id]) : null;
    return { items: page.map(rowToAuditEvent), nextCursor };
  }

  /** Deletes events older than the retention period; the periodic sweep. Returns how many went. */
  async sweep(): Promise<number> {
    const cutoff = new Date(this.clock().getTime() - this.retentionDays * DAY_MS).toISOString();
    let total = 0;
    for (;;) {
      const deleted = await deleteAuditEventsBefore(this.db, cutoff, SWEEP_BATCH);
      total += deleted;
      if (deleted < SWEEP_BATCH) return total;
    }
  }
}
