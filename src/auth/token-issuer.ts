import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';

/**
 * The issuer (`iss`) of this instance's tokens. It is kept with the instance, in the database
 * (`settings`, name `token-issuer`), not taken from each process's own `HOST:PORT`: a key the
 * CLI mints against a database must work on every server that uses that database, whatever
 * PORT each of them sees.
 */
export interface TokenIssuer {
  /** What new tokens carry. */
  readonly current: string;
  /** Every issuer a token may carry and still verify: the current one, the earlier ones. */
  readonly accepted: readonly string[];
}

/** How a process treats the stored issuer. */
export interface IssuerOptions {
  /**
   * A server adopts TESSERA_PUBLIC_URL as the new issuer when it differs from the stored one
   * (the earlier issuers stay accepted); the CLI only uses what is stored, so that a token it
   * mints is accepted by the servers already running.
   */
  adopt: boolean;
  now: Date;
}

export interface ResolvedIssuer {
  issuer: TokenIssuer;
  /** TESSERA_PUBLIC_URL as this process was given it, when it was not applied (it differs from the stored issuer). */
  notApplied?: string;
}

const SETTING = 'token-issuer';

interface StoredIssuer {
  current: string;
  /** Earlier issuers, newest first: tokens carrying them were issued before a change of TESSERA_PUBLIC_URL. */
  previous: string[];
}

async function readStored(db: Db): Promise<StoredIssuer | undefined> {
  const row = await db.selectFrom('settings').select('value').where('name', '=', SETTING).executeTakeFirst();
  if (row === undefined) return undefined;
  const stored = JSON.parse(row.value) as Partial<StoredIssuer>;
  if (typeof stored.current !== 'string') return undefined;
  return { current: stored.current, previous: Array.isArray(stored.previous) ? stored.previous.filter((p) => typeof p === 'string') : [] };
}

/**
 * The instance's issuer. The first process to open a database stores its TESSERA_PUBLIC_URL
 * (or, without it, its `http://HOST:PORT`); later processes use what is stored, except that a
 * server given a different TESSERA_PUBLIC_URL makes it the issuer and keeps the old one
 * accepted, so that tokens already issued keep verifying. A server without TESSERA_PUBLIC_URL
 * also accepts its own `http://HOST:PORT`: tokens issued before the issuer was stored carry it.
 */
export async function resolveTokenIssuer(db: Db, config: Pick<Config, 'publicUrl' | 'publicUrlSource'>, options: IssuerOptions): Promise<ResolvedIssuer> {
  const updatedAt = options.now.toISOString();
  const initial: StoredIssuer = { current: config.publicUrl, previous: [] };
  await db
    .insertInto('settings')
    .values({ name: SETTING, value: JSON.stringify(initial), updated_at: updatedAt })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  let stored = (await readStored(db)) ?? initial;
  const explicit = config.publicUrlSource === 'environment';
  let notApplied: string | undefined;
  if (explicit && stored.current !== config.publicUrl) {
    if (options.adopt) {
      stored = { current: config.publicUrl, previous: [stored.current, ...stored.previous].filter((p, i, all) => p !== config.publicUrl && all.indexOf(p) === i) };
      const value = JSON.stringify(stored);
      await db.updateTable('settings').set({ value, updated_at: updatedAt }).where('name', '=', SETTING).execute();
    } else {
      notApplied = config.publicUrl;
    }
  }
  const accepted = [stored.current, ...stored.previous];
  if (options.adopt && !explicit && !accepted.includes(config.publicUrl)) accepted.push(config.publicUrl);
  const issuer: TokenIssuer = Object.freeze({ current: stored.current, accepted: Object.freeze(accepted) });
  return notApplied === undefined ? { issuer } : { issuer, notApplied };
}
