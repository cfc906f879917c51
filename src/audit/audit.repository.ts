import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AuditEventRow } from '../db/schema.ts';
import type { AuditEvent } from './audit-event.ts';

export function rowToAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    actorIp: row.actor_ip,
    category: row.category as AuditEvent['category'],
    resource: row.resource,
    resourceId: row.resource_id,
    action: row.action as AuditEvent['action'],
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  };
}

export interface AuditQuery {
  limit: number;
  /** The time and id of the last event of the previous page (newest first). */
  before: { at: string; id: string } | undefined;
  /** Inclusive. */
  from: string | undefined;
  /** Exclusive. */
  to: string | undefined;
  actor: string | undefined;
  category: string | undefined;
  action: string | undefined;
}

/** One page of events, newest first (a stable keyset: time, then id). */
export async function listAuditEventRows(db: Db, q: AuditQuery): Promise<AuditEventRow[]> {
  let query = db.selectFrom('audit_events').selectAll();
  if (q.from !== undefined) query = query.where('at', '>=', q.from);
  if (q.to !== undefined) query = query.where('at', '<', q.to);
  if (q.actor !== undefined) query = query.where('actor', '=', q.actor);
  if (q.category !== undefined) query = query.where('category', '=', q.category);
  if (q.action !== undefined) query = query.where('action', '=', q.action);
  if (q.before !== undefined) {
    const { at, id } = q.before;
    query = query.where(sql<boolean>`(at < ${at} or (at = ${at} and id < ${id}))`);
  }
  return query.orderBy('at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}

/** Deletes up to `batch` events older than `cutoff`; returns how many went. */
export async function deleteAuditEventsBefore(db: Db, cutoff: string, batch: number): Promise<number> {
  const result = await db
    .deleteFrom('audit_events')
    .where('id', 'in', (eb) => eb.selectFrom('audit_events').select('id').where('at', '<', cutoff).limit(batch))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
