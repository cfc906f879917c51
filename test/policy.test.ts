import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

const RULES = [
  { id: 'deny-ssh', name: 'No SSH from the internet', action: 'deny', protocol: 'tcp', source: 'internet', destination: 'any', ports: ['22'] },
  {
    name: 'HTTPS to web',
    description: 'public web tier',
    action: 'allow',
    protocol: 'tcp',
    source: 'internet',
    destination: 'tag:tier=web',
    ports: ['443', '8000-8080'],
    enabled: false,
  },
  { name: 'Ping inside', action: 'allow', protocol: 'icmp', source: '10.0.0.0/8', destination: '2001:db8::/32', ports: ['any'] },
];

describe.each(DIALECTS)('public cloud policy API (%s)', (dialect) => {
  let h: Harness;
  let admin: string;
  const url = '/api/v1/policy/rules';
  const put = (rules: unknown[], token = admin) => h.request(token, { method: 'PUT', url, payload: { rules } });

  beforeAll(async () => {
    h = await createHarness(dialect);
    admin = (await h.key([{ role: 'global-admin' }], { name: 'root' })).token;
  });
  afterAll(() => h.close());

  it('starts empty, then replaces all rules in order; ids are kept or generated', async () => {
    expect((await h.request(admin, { method: 'GET', url })).json()).toEqual({ rules: [], updatedAt: null });
    const res = await put(RULES);
    expect(res.statusCode, res.body).toBe(200);
    const rules = res.json().rules;
    expect(rules.map((r: { name: string }) => r.name)).toEqual(RULES.map((r) => r.name));
    expect(rules[0]).toEqual({
      id: 'deny-ssh',
      name: 'No SSH from the internet',
      description: '',
      action: 'deny',
      protocol: 'tcp',
      source: 'internet',
      destination: 'any',
      ports: ['22'],
      enabled: true,
    });
    expect(rules[1].id).toMatch(/^rule-/);
    expect(rules[1].enabled).toBe(false);
    expect(res.json().updatedAt).toBe(h.clock().toISOString());
    const viewer = await h.key([{ role: 'global-viewer' }]);
    expect((await h.request(viewer.token, { method: 'GET', url })).json().rules).toEqual(rules);

    // Sending the set back reordered, minus one rule, keeps the ids.
    const next = await put([rules[2], rules[0]]);
    expect(next.json().rules.map((r: { id: string }) => r.id)).toEqual([rules[2].id, 'deny-ssh']);
    const audit = await h.ctx.storage.db.selectFrom('audit_events').selectAll().where('category', '=', 'policy').orderBy('at', 'desc').execute();
    expect(audit.length).toBe(2);
    const details = audit.map((a) => JSON.parse(a.detail) as { rules: number; added: string[]; removed: string[] });
    // The frozen clock gives both events the same time: tell them apart by content, not order.
    expect(details).toContainEqual({ rules: 3, added: RULES.map((r) => r.name), removed: [] });
    expect(details).toContainEqual({ rules: 2, added: [], removed: ['HTTPS to web'] });
  });

  it('validates the whole set; one bad rule changes nothing', async () => {
    const before = (await h.request(admin, { method: 'GET', url })).json();
    const bad: [unknown, string][] = [
      [{ ...RULES[0], source: '10.0.0.0/99' }, '/rules/0/source'],
      [{ ...RULES[0], destination: 'somewhere' }, '/rules/0/destination'],
      [{ ...RULES[0], ports: ['70000'] }, '/rules/0/ports/0'],
      [{ ...RULES[0], ports: ['any', '22'] }, '/rules/0/ports'],
      [{ ...RULES[2], ports: ['22'] }, '/rules/0/ports'],
      [{ ...RULES[0], id: 'has space' }, '/rules/0/id'],
      [{ ...RULES[0], name: '   ' }, '/rules/0/name'],
      [{ ...RULES[0], action: 'maybe' }, '/rules/0/action'],
      [{ ...RULES[0], extra: 1 }, '/rules/0/extra'],
    ];
    for (const [rule, pointer] of bad) {
      const res = await put([RULES[1], rule].reverse());
      expect(res.statusCode, pointer).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors[0], JSON.stringify(rule)).toMatchObject({ in: 'body', pointer });
    }
    const dupName = await put([RULES[0], { ...RULES[1], name: 'no ssh FROM the internet' }]);
    expect(dupName.json().errors[0]).toMatchObject({ in: 'body', pointer: '/rules/1/name' });
    const dupId = await put([RULES[0], { ...RULES[1], id: 'deny-ssh' }]);
    expect(dupId.json().errors[0]).toMatchObject({ in: 'body', pointer: '/rules/1/id' });
    expect((await h.request(admin, { method: 'GET', url })).json()).toEqual(before);
  });

  it('an empty list removes every rule; only Global Admins write; Cloud Account Viewers cannot read', async () => {
    const viewer = await h.key([{ role: 'global-viewer' }]);
    expect((await put([], viewer.token)).json().code).toBe('insufficient_scope');
    const cav = await h.key([{ role: 'cloud-account-viewer', accounts: 'all' }]);
    expect((await h.request(cav.token, { method: 'GET', url })).statusCode).toBe(403);
    const cleared = await put([]);
    expect(cleared.json().rules).toEqual([]);
  });
});
