import SQLite from 'better-sqlite3';

/**
 * The list the peers serve: the same first page of cloud accounts as Tessera's
 * `GET /api/v1/cloud-accounts` (display name then id, 50 a page or `?limit=`), read from the same
 * SQLite file with a prepared statement, so that only authentication differs.
 */
export function cloudAccountPage(databaseFile: string): (limitParam?: unknown) => { items: unknown[]; nextCursor: string | null } {
  const db = new SQLite(databaseFile, { readonly: true });
  const page = db.prepare('select * from cloud_accounts order by display_name asc, id asc limit ?');
  return (limitParam) => {
    const limit = Math.min(Math.max(Number(limitParam ?? 50) || 50, 1), 200);
    const rows = page.all(limit + 1) as Array<Record<string, string | null>>;
    const items = rows.slice(0, limit).map((row) => ({
      id: row['id'],
      vendor: row['vendor'],
      displayName: row['display_name'],
      externalId: row['external_id'],
      status: row['status'],
      statusDetail: row['status_detail'],
      credentialId: row['credential_id'],
      createdAt: row['created_at'],
    }));
    const last = rows[limit - 1];
    return {
      items,
      nextCursor: rows.length > limit && last !== undefined ? Buffer.from(JSON.stringify([last['display_name'], last['id']])).toString('base64url') : null,
    };
  };
}
