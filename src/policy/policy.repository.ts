import type { Db } from '../db/database.ts';
import type { PolicyRuleRow } from '../db/schema.ts';
import type { Protocol } from '../assets/asset.ts';
import type { PolicyRule } from './policy-rule.ts';

export function rowToPolicyRule(row: PolicyRuleRow): PolicyRule {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    action: row.action as PolicyRule['action'],
    protocol: row.protocol as Protocol,
    source: row.source,
    destination: row.destination,
    ports: JSON.parse(row.ports) as string[],
    enabled: Number(row.enabled) === 1,
  };
}

/** The rules in order. */
export async function listPolicyRuleRows(db: Db): Promise<PolicyRuleRow[]> {
  return db.selectFrom('policy_rules').selectAll().orderBy('position', 'asc').execute();
}

/** Replaces the whole rule set (inside the caller's transaction). */
export async function replacePolicyRules(db: Db, rules: readonly PolicyRule[], at: string): Promise<void> {
  await db.deleteFrom('policy_rules').execute();
  for (let i = 0; i < rules.length; i += 200) {
    const chunk = rules.slice(i, i + 200).map((r, j) => ({
      id: r.id,
      position: i + j,
      name: r.name,
      description: r.description,
      action: r.action,
      protocol: r.protocol,
      source: r.source,
      destination: r.destination,
      ports: JSON.stringify(r.ports),
      enabled: r.enabled ? 1 : 0,
      updated_at: at,
    }));
    if (chunk.length > 0) await db.insertInto('policy_rules').values(chunk).execute();
  }
}
