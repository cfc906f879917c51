import { sql, type Expression, type SqlBool } from 'kysely';
import type { AccountScope } from '../auth/permissions.ts';

/**
 * The SQL condition "`column` names an account inside `scope`": true for all accounts,
 * false for an empty list, else an `in (…)` over the granted ids (bound parameters).
 * Every feature whose rows belong to a cloud account filters with it, so it lives here and
 * not in one of them.
 */
export function inAccountScope(column: string, scope: AccountScope): Expression<SqlBool> {
  if (scope.all) return sql<SqlBool>`1 = 1`;
  if (scope.ids.length === 0) return sql<SqlBool>`1 = 0`;
  return sql<SqlBool>`${sql.ref(column)} in (${sql.join(scope.ids.map((id) => sql.val(id)))})`;
}
