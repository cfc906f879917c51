import type { Kysely } from 'kysely';
import type { Actor } from '../auth/principal.ts';
import type { Database, PolicyRuleRow } from '../db/schema.ts';
import type { Transactions } from '../db/transactions.ts';
import { validateRules, type PolicyRule, type PolicyRuleInput } from './policy-rule.ts';
import { listPolicyRuleRows, replacePolicyRules, rowToPolicyRule } from './policy.repository.ts';

export interface Policy {
  rules: PolicyRule[];
  /** When the rule set was last replaced; null when it never was. */
  updatedAt: string | null;
}

function policyOf(rows: PolicyRuleRow[]): Policy {
  return { rules: rows.map(rowToPolicyRule), updatedAt: rows[0]?.updated_at ?? null };
}

/** The public cloud policy: read as a whole, replaced as a whole. */
export class PolicyService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly transactions: Transactions,
  ) {}

  async get(): Promise<Policy> {
    return policyOf(await listPolicyRuleRows(this.db));
  }

  /** Validates the whole set, then swaps it in one transaction: readers see the old rules or the new ones. */
  async replace(actor: Actor, inputs: readonly PolicyRuleInput[]): Promise<Policy> {
    const rules = validateRules(inputs);
    return this.transactions.run(actor, async (work) => {
      const before = await listPolicyRuleRows(work.trx);
      await replacePolicyRules(work.trx, rules, work.now.toISOString());
      const beforeIds = new Set(before.map((r) => r.id));
      const afterIds = new Set(rules.map((r) => r.id));
      work.audit({
        category: 'policy',
        resource: 'public cloud policy',
        resourceId: null,
        action: 'replace',
        detail: {
          rules: rules.length,
          added: rules.filter((r) => !beforeIds.has(r.id)).map((r) => r.name),
          removed: before.filter((r) => !afterIds.has(r.id)).map((r) => r.name),
        },
      });
      return policyOf(await listPolicyRuleRows(work.trx));
    });
  }
}
