import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ACTOR } from '../src/auth/principal.ts';
import { TOKEN_AUDIENCE } from '../src/auth/tokens.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/http/logging.ts';
import { runCli } from './helpers/cli.ts';
import { DIALECTS } from './helpers/databases.ts';
import { createHarness, TEST_PUBLIC_URL, type Harness } from './helpers/harness.ts';

describe.each(DIALECTS)('/.well-known/jwks.json after a rotation by another process (%s)', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(() => h.close());
  const jwks = () => h.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });

  it('names the new kid from the very next request on, and a token it signs verifies with that answer (regression: the first answer lacked it)', async () => {
    for (let round = 0; round < 3; round++) {
      const before = await jwks();
      expect(before.statusCode).toBe(200);
      const rotated = await runCli(['signing-keys', 'rotate'], h.env);
      expect(rotated.code, rotated.stderr).toBe(0);
      const kid = /New current signing key: (\S+)/.exec(rotated.stdout)?.[1];
      expect(kid).toBeDefined();
      expect(before.json().keys.map((k: { kid: string }) => k.kid)).not.toContain(kid);
      // The very next request, as soon as the CLI has exited.
      const after = await jwks();
      expect(after.json().keys.map((k: { kid: string }) => k.kid)).toContain(kid);
      // A token the new key signs (the CLI signs with the key it just made) verifies with that answer.
      const created = await runCli(['keys', 'create', '--name', `after-rotation-${round}`, '--role', 'global-viewer', '--json'], h.env);
      expect(created.code, created.stderr).toBe(0);
      const token = JSON.parse(created.stdout).token as string;
      expect(decodeProtectedHeader(token).kid).toBe(kid);
      const { payload } = await jwtVerify(token, createLocalJWKSet(after.json()), { issuer: TEST_PUBLIC_URL, audience: TOKEN_AUDIENCE, algorithms: ['EdDSA'] });
      expect(payload.sub).toBe(JSON.parse(created.stdout).id);
    }
  });

  it("names a key another instance made, answering right after that instance's commit", async () => {
    const other = await createContext(h.config, createLogger(h.config));
    try {
      for (let round = 0; round < 10; round++) {
        const kid = await other.signingKeys.rotate(other.transactions, CLI_ACTOR);
        const after = await jwks();
        expect(
          after.json().keys.map((k: { kid: string }) => k.kid),
          `round ${round}`,
        ).toContain(kid);
      }
    } finally {
      await other.close();
    }
  });

  it('is revalidated on every use, never kept stale by a cache: no-cache with an ETag, 304 while unchanged', async () => {
    const first = await jwks();
    expect(first.headers['cache-control']).toBe('no-cache');
    const etag = first.headers['etag'] as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    const unchanged = await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers: { 'if-none-match': etag } });
    expect(unchanged.statusCode).toBe(304);
    expect(unchanged.body).toBe('');
    await runCli(['signing-keys', 'rotate'], h.env);
    const changed = await h.app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers: { 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers['etag']).not.toBe(etag);
    expect(changed.json().keys).toHaveLength(first.json().keys.length + 1);
  });
});
