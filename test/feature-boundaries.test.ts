import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

// A feature owns its tables: only its folder writes them, and its repository is its own;
// another feature asks the feature's service or its `*.public.ts` module instead.

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * Imports of another folder's repository that stay for now, with why; the test fails on an
 * entry that no longer matches an import, so the list can only shrink.
 */
const KNOWN_FOREIGN_IMPORTS = new Map<string, string>([]);

/**
 * Tables written from more than one folder (or by a name the scan cannot read) that stay for
 * now, with why; as above, an entry that no longer matches fails the test.
 */
const KNOWN_SHARED_WRITES = new Map<string, string>([
  ['access_keys <- access-keys, usage', "usage/ flushes the keys' use counters in one batched statement"],
  ['settings <- access-keys, auth', 'instance-wide settings by name: access-keys/ owns access-key-policy, auth/ the token-issuer row'],
]);

/** Every module a source text imports or re-exports, statically or with `import()`, as written. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    // Migrations shape every table once, in their time; they belong to no feature.
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sourceFiles(path);
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

/** The tables a query builder or an `sql` template in this text writes; `?` for a table given by a variable. */
function tablesWrittenBy(text: string, tables: ReadonlySet<string>): Set<string> {
  const written = new Set<string>();
  for (const [, argument] of text.matchAll(/\b(?:insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(\s*([^\s,)]+)/g)) {
    const literal = /^['"]([a-z_]+)['"]$/.exec(argument as string);
    written.add(literal === null ? '?' : (literal[1] as string));
  }
  for (const [, template] of text.matchAll(/\bsql(?:<[^>]*>)?`([^`]*)`/g)) {
    for (const [, table] of (template as string).matchAll(/\b(?:insert\s+into|update|delete\s+from)\s+([a-z_]+)/gi)) {
      if (tables.has(table as string)) written.add(table as string);
    }
  }
  return written;
}

/** "table <- folder, folder" for each table written from more than one folder; "? <- file" for each write the scan cannot name. */
function sharedWrites(root: string, tables: ReadonlySet<string>): string[] {
  const writers = new Map<string, Set<string>>();
  const unnamed: string[] = [];
  for (const file of sourceFiles(root)) {
    for (const table of tablesWrittenBy(readFileSync(file, 'utf8'), tables)) {
      if (table === '?') unnamed.push(`? <- ${relative(root, file)}`);
      else writers.set(table, (writers.get(table) ?? new Set()).add(relative(root, dirname(file))));
    }
  }
  const shared = [...writers].filter(([, folders]) => folders.size > 1).map(([table, folders]) => `${table} <- ${[...folders].sort().join(', ')}`);
  return [...shared, ...unnamed].sort();
}

/** The table names of the `Database` interface in src/db/schema.ts. */
function schemaTables(): Set<string> {
  const schema = readFileSync(join(SRC, 'db/schema.ts'), 'utf8');
  const body = /export interface Database \{([^}]*)\}/.exec(schema)?.[1] ?? '';
  return new Set([...body.matchAll(/^\s*([a-z_]+):/gm)].map((m) => m[1] as string));
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

  it('reports a table written from two folders, and a write to a table named by a variable', () => {
    mkdirSync(join(scratch, 'writers/users'), { recursive: true });
    mkdirSync(join(scratch, 'writers/sessions'));
    mkdirSync(join(scratch, 'writers/grants'));
    const tables = new Set(['users', 'sessions']);
    writeFileSync(join(scratch, 'writers/users/user.repository.ts'), "db.updateTable('users').set({ roles });\nsql`delete from users where id = 1`;\n");
    writeFileSync(
      join(scratch, 'writers/sessions/session.service.ts'),
      "db.deleteFrom('sessions');\nawait work.trx\n  .updateTable('users')\n  .set({ last_sign_in_at: now });\n",
    );
    writeFileSync(join(scratch, 'writers/grants/grant.repository.ts'), 'db.updateTable(table).set({ roles });\n');
    expect(sharedWrites(join(scratch, 'writers'), tables)).toEqual(['? <- grants/grant.repository.ts', 'users <- sessions, users']);
    writeFileSync(join(scratch, 'writers/sessions/session.service.ts'), "db.deleteFrom('sessions');\nsql`update sessions set x = 1`;\n// then update users\n");
    expect(sharedWrites(join(scratch, 'writers'), tables)).toEqual(['? <- grants/grant.repository.ts']);
  });

  it('every table is written from one folder of src/', () => {
    const tables = schemaTables();
    expect(tables.has('users') && tables.has('sessions') && tables.size >= 10, `tables read from schema.ts: ${[...tables]}`).toBe(true);
    const found = sharedWrites(SRC, tables);
    expect(
      found.filter((entry) => !KNOWN_SHARED_WRITES.has(entry)),
      'tables written from another feature',
    ).toEqual([]);
    expect(
      [...KNOWN_SHARED_WRITES.keys()].filter((entry) => !found.includes(entry)),
      'known shared writes that no longer happen: remove them from KNOWN_SHARED_WRITES',
    ).toEqual([]);
  });

  it("no file in src/ imports another feature's repository", () => {
    const found = foreignRepositoryImports(SRC);
    expect(
      found.filter((edge) => !KNOWN_FOREIGN_IMPORTS.has(edge)),
      "imports of another feature's repository",
    ).toEqual([]);
    expect(
      [...KNOWN_FOREIGN_IMPORTS.keys()].filter((edge) => !found.includes(edge)),
      'known exceptions that no longer happen: remove them from KNOWN_FOREIGN_IMPORTS',
    ).toEqual([]);
  });
});
