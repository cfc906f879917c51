import type { RouteOptions } from 'fastify';
import type { RouteAccess } from '../auth/permissions.ts';

/** What the route table knows of one method and route template. */
export interface RouteEntry {
  readonly access: RouteAccess | undefined;
}

/**
 * The app's routes by method and template, as each route declared them: the one source of the
 * permission a recorded request needed (the advice and the dry run read it here, so no second
 * map of routes to permissions exists). Filled by an `onRoute` hook as the app is built.
 */
export class RouteTable {
  readonly #entries = new Map<string, RouteEntry>();
  readonly #templates = new Map<string, string>();

  /** The `onRoute` hook that fills the table. */
  readonly add = (route: RouteOptions): void => {
    const template = this.template(route.url);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const entry: RouteEntry = { access: route.config?.access };
    for (const method of methods) this.#entries.set(`${method} ${template}`, entry);
  };

  /**
   * The documented template of a Fastify route URL: `{id}` for `:id`, and a collection route
   * (`/api/v1/access-keys/`) without its trailing slash, as in the OpenAPI document. Remembered
   * per URL, so the per-request cost is one map lookup.
   */
  template(url: string): string {
    let template = this.#templates.get(url);
    if (template === undefined) {
      template = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      if (template.length > 1 && template.endsWith('/')) template = template.slice(0, -1);
      this.#templates.set(url, template);
    }
    return template;
  }

  /** The route registered for a method and template, if any. */
  find(method: string, template: string): RouteEntry | undefined {
    // HEAD is answered by its GET route, whose permission it shares.
    return this.#entries.get(`${method} ${template}`) ?? (method === 'HEAD' ? this.#entries.get(`GET ${template}`) : undefined);
  }
}
