import type { Db } from '../db/database.ts';
import { timeOrderedId } from '../util/ids.ts';
import type { AuditEntry } from './audit-event.ts';

// What the unit of work needs of the audit feature: it writes a unit's audit events in the
// statement that commits the unit, so the audit table is written here and nowhere else.

/** An audit entry as recorded: its detail is JSON text taken at that moment, so a later change to the object cannot alter it. */
export type RecordedAuditEntry = Omit<AuditEntry, 'detail'> & { detail: string };

export function recordAuditEntry(entry: AuditEntry): RecordedAuditEntry {
  return { ...entry, detail: JSON.stringify(entry.detail) };
}

/** The insert of a unit of work's audit entries, to run alone or inside a larger statement. */
export function auditEventsInsert(db: Db, at: Date, actor: { name: string; ip: string | null }, entries: readonly RecordedAuditEntry[]) {
  return db.insertInto('audit_events').values(
    entries.map((entry) => ({
      id: timeOrderedId(at.getTime()),
      at: at.toISOString(),
      actor: actor.name,
      actor_ip: actor.ip,
      category: entry.category,
      resource: entry.resource,
      resource_id: entry.resourceId,
      action: entry.action,
      detail: entry.detail,
    })),
  );
}
