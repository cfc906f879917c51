import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, problem } from '../src/http/errors.ts';

describe('the error registry', () => {
  const doc = readFileSync(new URL('../docs/ERRORS.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1] as string, Number(m[2])]));

  it('documents every code with its status, and nothing else', () => {
    const registered = new Map(Object.entries(ERRORS).map(([code, { status }]) => [code, status]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(registered));
  });

  it('builds RFC 9457 bodies', () => {
    expect(problem('name_taken', 'taken')).toEqual({
      type: 'urn:tessera:problem:name_taken',
      title: ERRORS.name_taken.title,
      status: 409,
      detail: 'taken',
      code: 'name_taken',
    });
  });
});
