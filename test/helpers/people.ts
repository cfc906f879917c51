import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Grant } from '../../src/auth/permissions.ts';
import { CLI_ACTOR } from '../../src/auth/principal.ts';
import type { Harness } from './harness.ts';

export const PASSWORD = 'correct horse battery staple';

let counter = 0;

/** Adds an active user with PASSWORD through the service (as `tessera users create` does). */
export async function addUser(h: Harness, roles: Grant[], email = `user${++counter}@example.com`): Promise<{ id: string; email: string }> {
  const { user } = await h.ctx.users.createActive(CLI_ACTOR, { email, roles, password: PASSWORD });
  return { id: user.id, email: user.email };
}

export interface SignedIn {
  cookie: string;
  csrfToken: string;
  response: LightMyRequestResponse;
}

/** The session cookie a response sets, as a Cookie header value. */
export function sessionCookieOf(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name.endsWith('tessera_session'));
  if (cookie === undefined) throw new Error(`no session cookie in ${JSON.stringify(response.headers['set-cookie'])}`);
  return `${cookie.name}=${cookie.value}`;
}

export async function signIn(h: Harness, email: string, password = PASSWORD, remoteAddress = '127.0.0.1'): Promise<SignedIn> {
  const response = await h.app.inject({ method: 'POST', url: '/api/v1/session', payload: { email, password }, remoteAddress });
  expect(response.statusCode, response.body).toBe(200);
  return { cookie: sessionCookieOf(response), csrfToken: response.json().csrfToken, response };
}

/** app.inject as a signed-in browser: the cookie, and the CSRF header unless `csrf: false`. */
export function asSession(h: Harness, s: SignedIn, options: { method: string; url: string; payload?: unknown; csrf?: boolean; remoteAddress?: string }) {
  const headers: Record<string, string> = { cookie: s.cookie };
  if (options.csrf !== false) headers['x-csrf-token'] = s.csrfToken;
  return h.app.inject({
    method: options.method as 'GET',
    url: options.url,
    headers,
    ...(options.payload === undefined ? {} : { payload: options.payload as object }),
    ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
  });
}

/** The audit events with these properties, oldest first. */
export async function auditRows(h: Harness, where: { category?: string; action?: string; actor?: string } = {}) {
  let q = h.ctx.storage.db.selectFrom('audit_events').selectAll();
  if (where.category !== undefined) q = q.where('category', '=', where.category);
  if (where.action !== undefined) q = q.where('action', '=', where.action);
  if (where.actor !== undefined) q = q.where('actor', '=', where.actor);
  const rows = await q.orderBy('at').orderBy('id').execute();
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}
