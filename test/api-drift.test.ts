import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFiles, renderApiFiles, staleApiFiles } from '../web/scripts/api-client.ts';

// The drift check of `npm run check:api`, run against copies of the generated files.
describe('generated API client drift check', () => {
  let files: ApiFiles;
  let copy: string;

  beforeAll(async () => {
    files = await renderApiFiles();
    copy = mkdtempSync(join(tmpdir(), 'tessera-api-drift-'));
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  const writeCopy = (overrides: Partial<ApiFiles>) => {
    rmSync(copy, { recursive: true, force: true });
    for (const [path, text] of Object.entries({ ...files, ...overrides })) {
      mkdirSync(dirname(join(copy, path)), { recursive: true });
      writeFileSync(join(copy, path), text);
    }
  };

  it('passes when the files are what the server generates', () => {
    writeCopy({});
    expect(staleApiFiles(files, copy)).toEqual([]);
  });

  it('names a stale client schema', () => {
    writeCopy({ 'src/api/schema.d.ts': files['src/api/schema.d.ts'].replace('"/api/v1/access-keys"', '"/api/v1/keys"') });
    expect(staleApiFiles(files, copy)).toEqual(['src/api/schema.d.ts']);
  });

  it('names a stale or missing OpenAPI document', () => {
    writeCopy({ 'openapi.json': files['openapi.json'].replace('"openapi"', '"openapi" ') });
    expect(staleApiFiles(files, copy)).toEqual(['openapi.json']);
    rmSync(join(copy, 'openapi.json'));
    expect(staleApiFiles(files, copy)).toEqual(['openapi.json']);
  });
});
