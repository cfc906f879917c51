import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.ts';
import type { AuditEventRow } from '../db/schema.ts';
import type { AuditEntry, AuditEvent } from './audit-event.ts';

export async function insertAuditEvent(db: Db, at: Date, actor: { name: string; ip: string | null }, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: randomUUID(),
      at: at.toISOString(),
      actor: actor.name,
      actor_ip: actor.ip,
      category: entry.category,
      resource: entry.resource,
      resource_id: entry.resourceId,
      action: entry.action,
      detail: JSON.stringify(entry.detail),
    })
    .execute();
}

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
