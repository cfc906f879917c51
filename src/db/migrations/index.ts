import type { Migration, MigrationProvider } from 'kysely';
import * as core from './2026-11-27T00-core.ts';
import * as inventory from './2026-11-27T01-inventory.ts';
import * as people from './2026-11-27T02-people.ts';
import * as jobRuns from './2026-11-27T07-job-runs.ts';
import * as keyIndexes from './2026-11-27T08-key-indexes.ts';
import * as keyRoleIndex from './2026-11-27T09-key-role-index.ts';
import * as keyNameTrigram from './2026-11-27T10-key-name-trigram.ts';
import * as keyListIndexes from './2026-11-27T11-key-list-indexes.ts';
import * as keyListCovering from './2026-11-27T12-key-list-covering.ts';
import * as keyNameListRoles from './2026-11-27T13-key-name-list-roles.ts';
import * as keyNameFtsByApp from './2026-12-03T00-key-name-fts-by-app.ts';
import * as keyExpiryCreationIndex from './2026-12-03T01-key-expiry-creation-index.ts';
import * as foldedNameKeys from './2026-12-07T02-folded-name-keys.ts';
import * as userTokensValidAfter from './2026-12-07T03-user-tokens-valid-after.ts';
import * as acknowledgedChanges from './2026-12-07T05-acknowledged-changes.ts';
import * as grantsAsRows from './2026-12-07T10-grants-as-rows.ts';
import * as keyLifecycle from './2026-12-07T20-key-lifecycle.ts';
import * as webhooks from './2026-12-07T30-webhooks.ts';
import * as keyExpiryNotices from './2026-12-07T31-key-expiry-notices.ts';
import * as keyGuards from './2026-12-07T40-key-guards.ts';
import * as keyActivity from './2026-12-07T50-key-activity.ts';
import * as keyDisabledIndex from './2026-12-07T55-key-disabled-index.ts';
import * as userPasswordGenerated from './2026-12-07T70-user-password-generated.ts';
import * as keyExpiryDayIndex from './2026-12-07T85-key-expiry-day-index.ts';
import * as grantHolderCovering from './2026-12-08T00-grant-holder-covering.ts';

/**
 * Every migration, by its date-based name. Listed statically (not read from the folder)
 * so that the set is the same however Tessera is run. Append new entries; never edit one.
 */
const migrations: Record<string, Migration> = {
  '2026-11-27T00-core': core,
  '2026-11-27T01-inventory': inventory,
  '2026-11-27T02-people': people,
  '2026-11-27T07-job-runs': jobRuns,
  '2026-11-27T08-key-indexes': keyIndexes,
  '2026-11-27T09-key-role-index': keyRoleIndex,
  '2026-11-27T10-key-name-trigram': keyNameTrigram,
  '2026-11-27T11-key-list-indexes': keyListIndexes,
  '2026-11-27T12-key-list-covering': keyListCovering,
  '2026-11-27T13-key-name-list-roles': keyNameListRoles,
  '2026-12-03T00-key-name-fts-by-app': keyNameFtsByApp,
  '2026-12-03T01-key-expiry-creation-index': keyExpiryCreationIndex,
  '2026-12-07T02-folded-name-keys': foldedNameKeys,
  '2026-12-07T03-user-tokens-valid-after': userTokensValidAfter,
  '2026-12-07T05-acknowledged-changes': acknowledgedChanges,
  '2026-12-07T10-grants-as-rows': grantsAsRows,
  '2026-12-07T20-key-lifecycle': keyLifecycle,
  '2026-12-07T30-webhooks': webhooks,
  '2026-12-07T31-key-expiry-notices': keyExpiryNotices,
  '2026-12-07T40-key-guards': keyGuards,
  '2026-12-07T50-key-activity': keyActivity,
  '2026-12-07T55-key-disabled-index': keyDisabledIndex,
  '2026-12-07T70-user-password-generated': userPasswordGenerated,
  '2026-12-07T85-key-expiry-day-index': keyExpiryDayIndex,
  '2026-12-08T00-grant-holder-covering': grantHolderCovering,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
