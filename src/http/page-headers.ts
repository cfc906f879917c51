import type { onSendHookHandler } from 'fastify';

/** What every page Tessera serves to a browser allows: its own files, this server, no framing. */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];

/** The console: react-aria positions popovers with style attributes. */
export const CONSOLE_CSP = [...PAGE_POLICY, "style-src 'self' 'unsafe-inline'"].join('; ');

/**
 * The one `<style>` element Swagger UI renders: inside the Swagger logo of its top bar
 * (swagger-ui-standalone-preset.js), ".logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}".
 * test/page-headers.test.ts recomputes it from the served file, so an upgrade that changes it fails there.
 */
export const SWAGGER_UI_STYLE_HASH = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

/**
 * The API homepage (/docs, Swagger UI), stricter than the console: its index page loads only
 * its own script files (no inline script), React sets its other styles through the DOM (which
 * a CSP does not govern), so no inline style is allowed but the one above, by its hash.
 * Checked in Chromium: the page, the Authorize dialog's password flow and "Try it out" run
 * with no CSP violation.
 */
export const DOCS_CSP = [...PAGE_POLICY, `style-src 'self' ${SWAGGER_UI_STYLE_HASH}`].join('; ');

/**
 * The onSend hook of a scope that serves browser pages: its Content-Security-Policy, and no
 * framing by any site (the CSP's frame-ancestors, and X-Frame-Options for older browsers).
 * `x-content-type-options: nosniff` is set on every answer by the app.
 */
export function pageHeaders(csp: string): onSendHookHandler {
  return async (_request, reply) => {
    reply.header('content-security-policy', csp);
    reply.header('x-frame-options', 'DENY');
  };
}
