import SQLite from 'better-sqlite3';

/**
 * The list the peers serve: the same first page of cloud accounts as Tessera's
 * `GET /api/v1/cloud-accounts` (display name then id, 50 a page), read from the same
 * SQLite file with a prepared statement, so that only authentication differs.
 */
export function cloudAccountPage(databaseFile: string): () => { items: unknown[]; nextCursor: string | null } {
  const db = new SQLite(databaseFile, { readonly: true });
  const page = db.prepare('select * from cloud_accounts order by display_name asc, id asc limit 51');
  return () => {
    const rows = page.all() as Array<Record<string, string | null>>;
    const items = rows.slice(0, 50).map((row) => ({
      id: row['id'],
      vendor: row['vendor'],
      displayName: row['display_name'],
      externalId: row['external_id'],
      status: row['status'],
      statusDetail: row['status_detail'],
      credentialId: row['credential_id'],
      createdAt: row['created_at'],
    }));
    const last = rows[49];
    return { items, nextCursor: rows.length > 50 && last !== undefined ? Buffer.from(JSON.stringify([last['display_name'], last['id']])).toString('base64url') : null };
  };
}
