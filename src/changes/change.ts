import { sql, type RawBuilder } from 'kysely';

/** What a cache can depend on: the one list of change kinds. */
export const CHANGE_KINDS = ['access-key', 'user', 'cloud-account', 'session', 'signing-key', 'token-issuer'] as const;

export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Something whose cached state must be dropped: one record, or (`kind: 'any'`) everything. */
export interface Change {
  kind: ChangeKind | 'any';
  id: string;
}

export const EVERYTHING_CHANGED: Change = Object.freeze({ kind: 'any', id: '*' });

/** The PostgreSQL channel that carries changes between processes. */
export const CHANGE_CHANNEL = 'tessera_changes';

/** A change as another process announced it. */
export interface Notice {
  change: Change;
  /** When the writer built the notice (epoch ms): the lag to applying it here is measured from it. */
  at: number | undefined;
  /** The writer's `change_sequence` number, in the last notice of an access-reducing unit: it waits for it to be acknowledged. */
  seq: number | undefined;
}

const KNOWN_KINDS: ReadonlySet<string> = new Set<string>([...CHANGE_KINDS, EVERYTHING_CHANGED.kind]);

/**
 * The `pg_notify` call that announces `change`. Its payload is JSON: `kind`, `id`, `at` and,
 * given `seq` (an SQL expression evaluated in the same statement), the number the writer will
 * wait for.
 */
export function notifyChange(change: Change, at: number, seq?: RawBuilder<unknown>): RawBuilder<unknown> {
  const payload = JSON.stringify({ kind: change.kind, id: change.id, at });
  if (seq === undefined) return sql`pg_notify(${CHANGE_CHANNEL}, ${payload})`;
  return sql`pg_notify(${CHANGE_CHANNEL}, ${payload.slice(0, -1)} || ',"seq":' || (${seq})::text || '}')`;
}

/**
 * Reads a notice's payload. A kind this process does not know, or a payload it cannot read,
 * still means something changed: it is read as everything changed.
 */
export function readNotice(payload: string | undefined): Notice {
  const notice: Notice = { change: EVERYTHING_CHANGED, at: undefined, seq: undefined };
  if (payload === undefined) return notice;
  try {
    const parsed = JSON.parse(payload) as { kind?: unknown; id?: unknown; at?: unknown; seq?: unknown } | null;
    if (typeof parsed !== 'object' || parsed === null) return notice;
    if (typeof parsed.kind === 'string' && KNOWN_KINDS.has(parsed.kind) && typeof parsed.id === 'string') {
      notice.change = { kind: parsed.kind as Change['kind'], id: parsed.id };
    }
    if (typeof parsed.at === 'number' && Number.isFinite(parsed.at)) notice.at = parsed.at;
    if (typeof parsed.seq === 'number' && Number.isSafeInteger(parsed.seq)) notice.seq = parsed.seq;
  } catch {
    // Unreadable: everything changed.
  }
  return notice;
}
