import { randomUUID } from 'node:crypto';
import { isCidr, isPortSpec, PROTOCOLS, type Protocol } from '../assets/asset.ts';
import { validationFailed } from '../http/errors.ts';
import { codePointLength } from '../shared/limits.ts';

/**
 * One rule of the public cloud policy: which traffic is allowed or denied between two
 * endpoints. Rules apply in order; the first that matches decides.
 */
export interface PolicyRule {
  id: string;
  name: string;
  description: string;
  action: 'allow' | 'deny';
  protocol: Protocol;
  /** `any`, `internet`, a CIDR, or `tag:key=value` (assets with that tag). */
  source: string;
  destination: string;
  /** `["any"]`, or ports and ranges such as `["443", "8000-8080"]`. */
  ports: string[];
  enabled: boolean;
}

export type PolicyRuleInput = Omit<PolicyRule, 'id' | 'description' | 'enabled'> & {
  id?: string | undefined;
  description?: string | undefined;
  enabled?: boolean | undefined;
};

export const MAX_RULES = 500;
const RULE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const TAG_SELECTOR = /^tag:[^=\s]{1,128}=[^\s]{0,256}$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** `any`, `internet`, a CIDR or a tag selector. */
export function isEndpoint(text: string): boolean {
  return text === 'any' || text === 'internet' || isCidr(text) || TAG_SELECTOR.test(text);
}

/**
 * Checks a whole rule set (names and ids unique, endpoints, ports that fit the protocol) and
 * returns it normalized, with ids for new rules. Every message names the field.
 */
export function validateRules(inputs: readonly PolicyRuleInput[]): PolicyRule[] {
  if (inputs.length > MAX_RULES) throw validationFailed('/rules', `must have at most ${MAX_RULES} rules`);
  const names = new Map<string, number>();
  const ids = new Map<string, number>();
  return inputs.map((input, i) => {
    const at = `/rules/${i}`;
    const name = input.name.normalize('NFC').trim();
    if (name === '' || codePointLength(name) > 100 || CONTROL_CHARACTERS.test(name))
      throw validationFailed(`${at}/name`, 'must be 1–100 characters, without control characters');
    const key = name.toLocaleLowerCase('und');
    const sameName = names.get(key);
    if (sameName !== undefined) throw validationFailed(`${at}/name`, `repeats the name of /rules/${sameName}`);
    names.set(key, i);
    const id = input.id ?? `rule-${randomUUID()}`;
    if (!RULE_ID.test(id)) throw validationFailed(`${at}/id`, 'must be 1–64 letters, digits, dots, hyphens or underscores');
    const sameId = ids.get(id);
    if (sameId !== undefined) throw validationFailed(`${at}/id`, `repeats the id of /rules/${sameId}`);
    ids.set(id, i);
    for (const side of ['source', 'destination'] as const) {
      if (!isEndpoint(input[side]))
        throw validationFailed(`${at}/${side}`, 'must be "any", "internet", a CIDR such as 10.0.0.0/8, or a tag selector such as tag:env=prod');
    }
    if (!PROTOCOLS.includes(input.protocol)) throw validationFailed(`${at}/protocol`, `must be one of ${PROTOCOLS.join(', ')}`);
    const ports = [...new Set(input.ports.map((p) => p.trim()))];
    ports.forEach((p, j) => {
      if (!isPortSpec(p)) throw validationFailed(`${at}/ports/${j}`, 'must be "any", a port 1–65535 or a range such as 8000-8080');
    });
    if (ports.includes('any') && ports.length > 1) throw validationFailed(`${at}/ports`, '"any" cannot be combined with other ports');
    if ((input.protocol === 'icmp' || input.protocol === 'any') && !(ports.length === 1 && ports[0] === 'any')) {
      throw validationFailed(`${at}/ports`, `must be ["any"] for protocol ${input.protocol}`);
    }
    const description = (input.description ?? '').trim();
    if (codePointLength(description) > 1000) throw validationFailed(`${at}/description`, 'must be at most 1000 characters');
    return {
      id,
      name,
      description,
      action: input.action,
      protocol: input.protocol,
      source: input.source,
      destination: input.destination,
      ports,
      enabled: input.enabled ?? true,
    };
  });
}
