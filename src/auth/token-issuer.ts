import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Transactions } from '../db/transactions.ts';
import { SYSTEM_ACTOR } from './principal.ts';

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
 * The instance's issuer, as this process uses it: read at start and again whenever the change
 * bus says it changed (a `token-issuer` change, or everything), so that every running instance
 * issues under the newest issuer and accepts every issuer stored, without a restart.
 */
export class TokenIssuerStore {
  #issuer: TokenIssuer;
  #accepted: ReadonlySet<unknown>;
  /** Reads under way; only the newest one started is applied (an older one may have read before the change). */
  readonly #reads = new Set<Promise<void>>();
  #started = 0;

  private constructor(
    private readonly db: Db,
    /** A server without TESSERA_PUBLIC_URL also accepts its own `http://HOST:PORT` (see `open`). */
    private readonly ownUrl: string | undefined,
    stored: StoredIssuer,
  ) {
    this.#issuer = this.#issuerOf(stored);
    this.#accepted = new Set(this.#issuer.accepted);
  }

  /**
   * The instance's issuer. The first process to open a database stores its TESSERA_PUBLIC_URL
   * (or, without it, its `http://HOST:PORT`); later processes use what is stored, except that a
   * server given a different TESSERA_PUBLIC_URL makes it the issuer and keeps the old one
   * accepted, so that tokens already issued keep verifying. That change is audited and announced
   * on the change bus, acknowledged by every live instance (which then accepts the new issuer)
   * before this server issues a token under it. A server without TESSERA_PUBLIC_URL also
   * accepts its own `http://HOST:PORT`: tokens issued before the issuer was stored carry it.
   */
  static async open(db: Db, transactions: Transactions, config: Pick<Config, 'publicUrl' | 'publicUrlSource'>, options: IssuerOptions): Promise<TokenIssuerStore> {
    const initial: StoredIssuer = { current: config.publicUrl, previous: [] };
    await db
      .insertInto('settings')
      .values({ name: SETTING, value: JSON.stringify(initial), updated_at: options.now.toISOString() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    let stored = (await readStored(db)) ?? initial;
    const explicit = config.publicUrlSource === 'environment';
    if (options.adopt && explicit && stored.current !== config.publicUrl) {
      stored = await transactions.run(
        SYSTEM_ACTOR,
        async (work) => {
          const before = (await readStored(work.trx)) ?? stored;
          const after: StoredIssuer = {
            current: config.publicUrl,
            previous: [before.current, ...before.previous].filter((p, i, all) => p !== config.publicUrl && all.indexOf(p) === i),
          };
          await work.trx
            .updateTable('settings')
            .set({ value: JSON.stringify(after), updated_at: work.now.toISOString() })
            .where('name', '=', SETTING)
            .execute();
          work.audit({ category: 'settings', resource: SETTING, resourceId: null, action: 'edit', detail: { before: before.current, after: after.current } });
          work.announce({ kind: 'token-issuer', id: after.current });
          return after;
        },
        // Instances that do not accept the new issuer yet would refuse the tokens issued under it.
        { reducesAccess: true },
      );
    }
    return new TokenIssuerStore(db, options.adopt && !explicit ? config.publicUrl : undefined, stored);
  }

  /**
   * The issuer as loaded now. Issuing does not wait for a reload under way: it may run inside a
   * unit of work, whose SQLite connection the reload would wait for; a token issued meanwhile
   * carries the previous issuer, which every instance still accepts.
   */
  get issuer(): TokenIssuer {
    return this.#issuer;
  }

  /** Whether a token's `iss` is one this instance accepts, as loaded now. */
  accepts(iss: unknown): boolean {
    return this.#accepted.has(iss);
  }

  /** Re-reads the stored issuer (another process changed it); a failed read keeps the issuer loaded. */
  reload(): Promise<void> {
    const started = ++this.#started;
    const read = readStored(this.db)
      .then((stored) => {
        if (stored !== undefined && started === this.#started) {
          this.#issuer = this.#issuerOf(stored);
          this.#accepted = new Set(this.#issuer.accepted);
        }
      })
      .finally(() => this.#reads.delete(read));
    this.#reads.add(read);
    return read;
  }

  /** Resolves when every read asked for so far is done (failed or not). */
  async settled(): Promise<void> {
    while (this.#reads.size > 0) await Promise.allSettled(this.#reads);
  }

  #issuerOf(stored: StoredIssuer): TokenIssuer {
    const accepted = [stored.current, ...stored.previous];
    if (this.ownUrl !== undefined && !accepted.includes(this.ownUrl)) accepted.push(this.ownUrl);
    return Object.freeze({ current: stored.current, accepted: Object.freeze(accepted) });
  }
}
