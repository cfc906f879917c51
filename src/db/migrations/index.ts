import type { Migration, MigrationProvider } from 'kysely';
import * as core from './2026-11-27T00-core.ts';

/**
 * Every migration, by its date-based name. Listed statically (not read from the folder)
 * so that the set is the same however Tessera is run. Append new entries; never edit one.
 */
const migrations: Record<string, Migration> = {
  '2026-11-27T00-core': core,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
