/**
 * The detection rules of docs/SECRET-SCANNING.md, read from that page so that what is
 * documented is what is tested: the secretlint configuration run through secretlint itself
 * (its Node API, with @secretlint/secretlint-rule-pattern), and the gitleaks expression with
 * JavaScript's regular expressions (the same syntax as gitleaks' RE2 for what it uses: classes,
 * counts, `\b`). Against a key minted through the API and near misses.
 *
 * On SQLite only: what is tested is the format of a token, not the storage.
 */
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { runSecretLint } from 'secretlint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_KEY_PREFIX, TOKEN_AUDIENCE, TOKEN_TYPES } from '../src/auth/tokens.ts';
import { createHarness, TEST_PUBLIC_URL, type Harness } from './helpers/harness.ts';

const PAGE = readFileSync(new URL('../docs/SECRET-SCANNING.md', import.meta.url), 'utf8');

/** The first fenced block of `language` after `heading` on the page. */
function block(heading: string, language: string): string {
  const from = PAGE.indexOf(heading);
  if (from < 0) throw new Error(`docs/SECRET-SCANNING.md has no "${heading}"`);
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(PAGE.slice(from));
  if (match === null) throw new Error(`no ${language} block after "${heading}"`);
  return match[1] as string;
}

const SECRETLINT_CONFIG = JSON.parse(block('### secretlint', 'json'));
const GITLEAKS_TOML = block('### gitleaks', 'toml');
const GITLEAKS_REGEX = new RegExp(/^regex = '''(.*)'''$/m.exec(GITLEAKS_TOML)?.[1] ?? '(?!)', 'g');
const GITLEAKS_KEYWORDS = JSON.parse(/^keywords = (\[.*\])$/m.exec(GITLEAKS_TOML)?.[1] ?? '[]') as string[];

/** The texts secretlint reports in `content` (with secrets unmasked, to compare them). */
async function secretlintFinds(content: string): Promise<string[]> {
  const { stdout, stderr } = await runSecretLint({
    cliOptions: { cwd: process.cwd(), stdinContent: content, stdinFileName: 'leak.env' },
    engineOptions: { configFileJSON: SECRETLINT_CONFIG, formatter: 'json', color: false, maskSecrets: false },
  });
  if (stderr !== null) throw stderr;
  const results = JSON.parse(stdout ?? '[]') as Array<{ messages: Array<{ range: [number, number]; ruleId: string }> }>;
  return results.flatMap((r) => r.messages.map((m) => content.slice(m.range[0], m.range[1])));
}

/** What gitleaks would report: nothing unless a keyword occurs (case-insensitively), then every match. */
function gitleaksFinds(content: string): string[] {
  if (!GITLEAKS_KEYWORDS.some((k) => content.toLowerCase().includes(k.toLowerCase()))) return [];
  return [...content.matchAll(GITLEAKS_REGEX)].map((m) => m[1] as string);
}

describe('the documented scanner rules', () => {
  let h: Harness;
  let key: string;
  let nearMisses: Array<[string, string]>;

  beforeAll(async () => {
    h = await createHarness('sqlite');
    const admin = (await h.key([{ role: 'global-admin' }], { name: 'scanner-admin' })).token;
    const res = await h.request(admin, { method: 'POST', url: '/api/v1/access-keys', payload: { name: 'to-be-found', roles: [{ role: 'global-viewer' }] } });
    expect(res.statusCode, res.body).toBe(201);
    key = res.json().token;
    const now = Math.floor(h.clock().getTime() / 1000);
    const user = await h.ctx.tokens.issue('user', 'a-user-id', new Date(now * 1000), new Date((now + 3600) * 1000));
    const { kid, privateKey } = h.ctx.signingKeys.current();
    const claims = JSON.parse(Buffer.from(key.split('.')[1]!, 'base64url').toString('utf8'));
    const [header, payload, signature] = key.split('.') as [string, string, string];
    nearMisses = [
      ['a user token of this Tessera', user.token],
      ['a JWT of another product', await new SignJWT({ sub: 'x' }).setProtectedHeader({ typ: 'JWT', alg: 'HS256' }).sign(new TextEncoder().encode('k'.repeat(32)))],
      [
        'an EdDSA JWT of another product with a typ of its own',
        await new SignJWT({ iss: TEST_PUBLIC_URL, aud: TOKEN_AUDIENCE }).setProtectedHeader({ typ: 'other-api-key+jwt', alg: 'EdDSA', kid }).sign(privateKey),
      ],
      [
        'a key in the format before the prefix (alg first)',
        await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid, typ: TOKEN_TYPES.accessKey }).sign(privateKey),
      ],
      ['the key cut by one character', key.slice(0, -1)],
      ['the key cut in its payload', `${header}.${payload.slice(0, 30)}`],
      ['the key without its signature', `${header}.${payload}.`],
      ['the key with a character more', `${key}A`],
      ['the key with its signature moved away', `${header}.${payload} ${signature}`],
      ['the prefix alone', ACCESS_KEY_PREFIX],
    ];
  });
  afterAll(() => h?.close());

  it('the documented prefix is the one every key starts with', () => {
    expect(PAGE).toContain(`\`\`\`\n${ACCESS_KEY_PREFIX}\n\`\`\``);
    expect(key.startsWith(ACCESS_KEY_PREFIX)).toBe(true);
    expect(GITLEAKS_KEYWORDS).toEqual([ACCESS_KEY_PREFIX]);
  });

  it('secretlint finds a real key, whole, wherever it is written', async () => {
    const places = [`TESSERA_TOKEN=${key}\n`, `{"token": "${key}"}`, `curl -H 'Authorization: Bearer ${key}' https://tessera.example.com\n`, `# ${key}`, key];
    for (const content of places) expect(await secretlintFinds(content), content).toEqual([key]);
    expect(await secretlintFinds(`a=${key}\nb=${key}\n`)).toEqual([key, key]);
  });

  it('secretlint ignores user tokens, other JWTs and truncated or altered keys', async () => {
    for (const [what, text] of nearMisses) expect(await secretlintFinds(`TOKEN=${text}\n`), what).toEqual([]);
  });

  it('the gitleaks rule finds the same key and ignores the same near misses', () => {
    expect(gitleaksFinds(`TESSERA_TOKEN=${key}\n`)).toEqual([key]);
    expect(gitleaksFinds(`Authorization: Bearer ${key}`)).toEqual([key]);
    for (const [what, text] of nearMisses) expect(gitleaksFinds(`TOKEN=${text}\n`), what).toEqual([]);
  });
});
