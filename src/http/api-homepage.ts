import { readFileSync } from 'node:fs';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import { DOCS_CSP, pageHeaders } from './page-headers.ts';

/**
 * Stands for a browser expression in Swagger UI's configuration. @fastify/swagger-ui writes the
 * configuration into its initializer script as source text, a function as its own source: the
 * plugins are functions the page defines (Swagger UI's, and ours from the theme script).
 */
function browserFunction(expression: string): (system: unknown) => Record<string, never> {
  return Object.assign((_system: unknown) => ({}), { toString: () => expression });
}

/** The viewport every page meant for phones declares; Swagger UI's index page has none. */
const VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">';

/**
 * `/docs`: Swagger UI configured as Tessera's own API homepage. Tessera's title, logo and top
 * bar (no "Explore" bar: it loads only this API's document), an Authorize dialog with an API
 * key (Bearer) or a user's email and password (no OAuth client fields), a phone-width layout,
 * and the console's page headers (its own CSP: no inline script).
 */
export const apiHomepage: FastifyPluginAsync<{ assets: URL }> = async (scope, { assets }) => {
  const asset = (name: string) => readFileSync(new URL(name, assets), 'utf8');
  scope.addHook('onSend', pageHeaders(DOCS_CSP));
  scope.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (typeof payload !== 'string' || typeof type !== 'string' || !type.startsWith('text/html')) return payload;
    return payload.replace(/<meta charset="UTF-8">/i, (charset) => `${charset}\n      ${VIEWPORT}`);
  });
  await scope.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    theme: {
      title: 'Tessera API',
      css: [{ filename: 'tessera.css', content: asset('api-homepage.css') }],
      js: [{ filename: 'tessera.js', content: asset('api-homepage.js') }],
      favicon: [{ filename: 'favicon.svg', rel: 'icon', type: 'image/svg+xml', sizes: 'any', content: asset('logo.svg') }],
    },
    uiConfig: {
      layout: 'TesseraLayout',
      // Swagger UI's API preset without the standalone one, whose top bar is the "Explore" bar.
      presets: [browserFunction('SwaggerUIBundle.presets.apis')],
      plugins: [browserFunction('SwaggerUIBundle.plugins.DownloadUrl'), browserFunction('window.TesseraApiHomepage')],
      // A deep link is an <a> inside each operation's expand <button>: interactive content
      // inside interactive content, which screen readers and keyboards cannot reach.
      deepLinking: false,
      persistAuthorization: false,
      docExpansion: 'list',
      // Highlighted examples are spans of low-contrast colours: plain text reads better.
      syntaxHighlight: false,
      defaultModelsExpandDepth: 0,
      displayRequestDuration: true,
      tryItOutEnabled: false,
    },
  });
};
