import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

// A feature's repository is its own: another feature asks the feature's service or its
// `*.public.ts` module, which keeps the SQL on a table in the feature that owns the table.

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * Imports of another folder's repository that stay for now, with why; the test fails on an
 * entry that no longer matches an import, so the list can only shrink.
 */
const KNOWN_EXCEPTIONS = new Map<string, string>([
  ['db/transactions.ts -> audit/audit.repository.ts', 'the unit of work writes its audit events in the statement that commits it'],
  ['auth/grants.ts -> cloud-accounts/cloud-account.repository.ts', 'grants naming accounts are checked against the accounts table'],
]);

/** Every module a source text imports or re-exports, statically or with `import()`, as written. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** "importer -> imported", relative to `root`, for each import of a repository in another folder. */
function foreignRepositoryImports(root: string): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(root)) {
    for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier);
      if (basename(target).endsWith('.repository.ts') && dirname(target) !== dirname(file)) {
        found.push(`${relative(root, file)} -> ${relative(root, target)}`);
      }
    }
  }
  return found.sort();
}

describe('feature boundaries', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-boundaries-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('sees every form of import: type-only, re-export, dynamic, over several lines', () => {
    const text = [
      "import type { A } from '../a/a.repository.ts';",
      "import {\n  b,\n  c,\n} from '../b/b.repository.ts';",
      "export { d } from '../d/d.repository.ts';",
      "export * from '../e/e.repository.ts';",
      "const f = await import('../f/f.repository.ts');",
      "// import { g } from '../g/g.repository.ts';",
    ].join('\n');
    expect(specifiersOf(text)).toEqual(['../a/a.repository.ts', '../b/b.repository.ts', '../d/d.repository.ts', '../e/e.repository.ts', '../f/f.repository.ts']);
  });

  it("reports a file that imports another folder's repository, and not one that imports its own", () => {
    for (const folder of ['users', 'sessions']) mkdirSync(join(scratch, folder));
    writeFileSync(join(scratch, 'users/user.repository.ts'), 'export const findUser = 1;\n');
    writeFileSync(join(scratch, 'users/user.service.ts'), "import { findUser } from './user.repository.ts';\n");
    writeFileSync(join(scratch, 'sessions/session.repository.ts'), 'export const findSession = 1;\n');
    writeFileSync(
      join(scratch, 'sessions/session.service.ts'),
      "import { findSession } from './session.repository.ts';\nimport type { findUser } from '../users/user.repository.ts';\n",
    );
    expect(foreignRepositoryImports(scratch)).toEqual(['sessions/session.service.ts -> users/user.repository.ts']);
  });

  it("no file in src/ imports another feature's repository", () => {
    const found = foreignRepositoryImports(SRC);
    expect(
      found.filter((edge) => !KNOWN_EXCEPTIONS.has(edge)),
      "imports of another feature's repository",
    ).toEqual([]);
    expect(
      [...KNOWN_EXCEPTIONS.keys()].filter((edge) => !found.includes(edge)),
      'known exceptions that no longer happen: remove them from KNOWN_EXCEPTIONS',
    ).toEqual([]);
  });
});
