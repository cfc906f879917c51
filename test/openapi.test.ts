import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './helpers/harness.ts';

describe('the OpenAPI document', () => {
  let h: Harness;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, { summary?: string; description?: string; responses?: Record<string, unknown>; requestBody?: unknown; parameters?: unknown[] }>>;
  };
  beforeAll(async () => {
    h = await createHarness('sqlite');
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(() => h.close());

  it('is OpenAPI 3.1 and describes the access-keys API', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths['/api/v1/access-keys'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/api/v1/access-keys/{id}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch']);
  });

  it('gives every operation a summary, a description and a response schema for success', () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.summary, where).toBeTruthy();
        expect(op.description, where).toBeTruthy();
        const success = Object.keys(op.responses ?? {}).filter((s) => s.startsWith('2'));
        expect(success.length, where).toBeGreaterThan(0);
      }
    }
  });

  it('writes every union of literals as one enum, so the API homepage shows the values (regression: "string | (string | string)")', () => {
    const literalUnions: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (typeof node !== 'object' || node === null) return;
      for (const keyword of ['anyOf', 'oneOf']) {
        const branches = (node as Record<string, unknown>)[keyword];
        if (Array.isArray(branches) && branches.every((b) => typeof b === 'object' && b !== null && ('const' in b || (Array.isArray(b.enum) && b.enum.length === 1)))) {
          literalUnions.push(where);
        }
      }
      for (const [key, value] of Object.entries(node)) walk(value, `${where}/${key}`);
    };
    walk(doc, '');
    expect(literalUnions).toEqual([]);
    const parameters = doc.paths['/api/v1/access-keys']?.['get']?.parameters as { name: string; schema: unknown }[];
    expect(parameters.find((p) => p.name === 'status')?.schema).toMatchObject({ type: 'string', enum: ['active', 'expired', 'expiring', 'disabled'] });
  });
});
