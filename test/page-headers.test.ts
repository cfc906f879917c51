import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCS_CSP } from '../src/http/page-headers.ts';
import { createHarness, type Harness } from './helpers/harness.ts';

/** The directives of a CSP header, by name. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0] !== '')
      .map(([name, ...values]) => [name as string, values]),
  );
}

// Page headers do not touch the database: SQLite is enough.
describe('the API homepage (/docs) headers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(() => h.close());
  const get = (url: string) => h.app.inject({ method: 'GET', url });

  it("sends the console's protections on the page and every asset (regression: no CSP, could be framed)", async () => {
    for (const url of [
      '/docs',
      '/docs/',
      '/docs/json',
      '/docs/static/swagger-ui-bundle.js',
      '/docs/static/swagger-ui-standalone-preset.js',
      '/docs/static/swagger-initializer.js',
      '/docs/static/swagger-ui.css',
      '/docs/static/index.css',
      '/docs/static/oauth2-redirect.html',
      '/docs/static/theme/tessera.js',
      '/docs/static/theme/tessera.css',
      '/docs/static/theme/favicon.svg',
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-security-policy'], url).toBe(DOCS_CSP);
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
    }
    const policy = directives(DOCS_CSP);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(policy.get('style-src')).not.toContain("'unsafe-inline'");
  });

  it("the page's scripts and styles are all allowed by the policy: no inline script, handler or style but the one hashed", async () => {
    for (const url of ['/docs', '/docs/']) {
      const html = (await get(url)).body;
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attributes, body] of scripts) {
        // Loaded from this server (a relative path), and nothing inline.
        expect(attributes).toMatch(/\ssrc="(\.\/|\/docs\/)static\/[^"]+"/);
        expect(body!.trim()).toBe('');
      }
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
      // Every stylesheet and script it names is served, under the same policy.
      for (const [, src] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
        const path = new URL(src!, `http://x${url.endsWith('/') ? url : `${url}/`}`).pathname;
        expect((await get(path)).statusCode, path).toBe(200);
      }
    }
    // Inline <style> elements Swagger UI renders from its scripts: each must be allowed by hash.
    const allowed = directives(DOCS_CSP).get('style-src') ?? [];
    let found = 0;
    for (const file of ['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js']) {
      const source = (await get(`/docs/static/${file}`)).body;
      for (const [, css] of source.matchAll(/createElement\("style",null,"((?:[^"\\]|\\.)*)"\)/g)) {
        found++;
        const hash = `'sha256-${createHash('sha256')
          .update(JSON.parse(`"${css}"`))
          .digest('base64')}'`;
        expect(allowed, `an inline style of ${file}`).toContain(hash);
      }
    }
    expect(found).toBeGreaterThan(0);
  });
});
