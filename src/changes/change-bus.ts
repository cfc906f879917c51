import { sql, type AliasedRawBuilder, type InsertQueryBuilder, type QueryCreator, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Storage } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { notifyChange, type Change, type ChangeKind } from './change.ts';
import { PostgresChangeFeed, SqliteChangeFeed, type ChangeFeed, type ChangeFeedStats } from './change-feed.ts';
import { ChangeAcknowledgements, InstanceRegistry } from './instances.ts';

/** Called with each change a subscription covers; it drops what the change makes stale. */
export type ChangeListener = (change: Change) => void;

export interface ChangeBusOptions {
  /**
   * Hear other processes' changes (a server). The CLI only writes: on PostgreSQL it is then no
   * instance that writers wait for, and its caches are never trusted.
   */
  listen: boolean;
}

/**
 * Tells every cache of every process what changed. A unit of work hands its changes over
 * twice: inside its transaction (`notifyInStatement`: on PostgreSQL, NOTIFYs that other
 * processes hear through LISTEN once it commits) and after its commit (`publish`: this
 * process's subscribers, before the writer answers; then, for an access-reducing unit,
 * `acknowledged` waits until every other live instance has applied it). On SQLite other
 * processes' commits are seen by `sync`, at the start of every request, as everything changed.
 *
 * A cache subscribes with `subscribe(kinds, listener)` and trusts what it keeps only while
 * `live`: while changes of other processes could be missed, it reads afresh.
 */
export class ChangeBus {
  readonly #subscriptions = new Set<{ kinds: ReadonlySet<Change['kind']> | 'all'; listener: ChangeListener }>();
  /** How other processes' changes arrive here: `PRAGMA data_version` on SQLite, LISTEN on PostgreSQL. */
  readonly feed: ChangeFeed;
  /** PostgreSQL: how this process's access-reducing writes wait for every live instance (undefined on SQLite). */
  readonly acknowledgements: ChangeAcknowledgements | undefined;
  /** PostgreSQL server instances: this instance's heartbeat and applied changes (undefined on SQLite and in the CLI). */
  readonly instances: InstanceRegistry | undefined;

  constructor(
    private readonly storage: Storage,
    databaseUrl: string | undefined,
    log: Logger,
    { listen }: ChangeBusOptions,
  ) {
    if (storage.dialect === 'sqlite') {
      this.feed = new SqliteChangeFeed(storage, this.publish);
      return;
    }
    if (databaseUrl === undefined) throw new TypeError('a PostgreSQL change bus needs the database URL (its listener has a connection of its own)');
    // A listening process is an instance that writers wait for; every process waits for them.
    this.instances = listen ? new InstanceRegistry(databaseUrl, this.publish, log) : undefined;
    this.acknowledgements = new ChangeAcknowledgements(this.instances?.db ?? storage.db, log, this.instances?.id);
    this.feed = new PostgresChangeFeed(databaseUrl, this.publish, log, { instances: this.instances });
  }

  /** Starts hearing other processes (a listening process only). */
  async start(): Promise<void> {
    await this.feed.start();
    // After LISTEN: every change numbered after the head it registers with is heard.
    await this.instances?.start();
  }

  async stop(): Promise<void> {
    await this.instances?.stop();
    await this.feed.stop();
  }

  /**
   * Calls `listener` with every change of one of `kinds` (or of any kind, given 'all'), and with
   * every "everything changed", from this process or another. Returns the unsubscribe.
   */
  subscribe(kinds: readonly ChangeKind[] | 'all', listener: ChangeListener): () => void {
    const subscription = { kinds: kinds === 'all' ? ('all' as const) : new Set<Change['kind']>([...kinds, 'any']), listener };
    this.#subscriptions.add(subscription);
    return () => void this.#subscriptions.delete(subscription);
  }

  /** Delivers a change to this process's subscribers: one committed here, or heard from another process. */
  readonly publish = (change: Change): void => {
    for (const { kinds, listener } of this.#subscriptions) if (kinds === 'all' || kinds.has(change.kind)) listener(change);
  };

  /** False while changes of other processes could be missed: caches must then not be trusted. */
  get live(): boolean {
    return this.feed.live;
  }

  /** At the start of every request (the access-control hook): on SQLite, where other processes' commits are seen. */
  sync(): void {
    this.feed.sync();
  }

  /** See `ChangeFeed.caughtUp`: for rare requests that must not lag (the JWKS). */
  caughtUp(): Promise<boolean> {
    return this.feed.caughtUp();
  }

  /** What the feed has heard since start, for `/readyz` and `/metrics`. */
  get stats(): ChangeFeedStats {
    return this.feed.stats;
  }

  /** Called with the milliseconds from another process's NOTIFY to its change applied here (PostgreSQL only). */
  onApplied(listener: (lagMs: number) => void): void {
    this.feed.onApplied(listener);
  }

  /**
   * Runs, in a unit's transaction, the one statement that tells other processes of its changes
   * and carries `alongside` (the unit's audit insert) with it: one round trip for all. On
   * PostgreSQL each change is a NOTIFY, delivered on commit; a `numbered` (access-reducing)
   * unit also takes the next `change_sequence` number, named in its last NOTIFY, and gets it
   * back for `acknowledged`. Once an instance has heard that NOTIFY it has heard the unit's
   * others (a transaction's NOTIFYs arrive in order) and every earlier number's (the row lock
   * orders the numbers as the commits). On SQLite, where other processes see the commit
   * itself, only `alongside` is written.
   */
  async notifyInStatement(
    trx: Transaction<Database>,
    changes: readonly Change[],
    numbered: boolean,
    // biome-ignore lint/suspicious/noExplicitAny: any insert, whatever its table.
    alongside?: InsertQueryBuilder<Database, any, any>,
  ): Promise<number | undefined> {
    if (this.storage.dialect === 'sqlite' || changes.length === 0) {
      await alongside?.execute();
      return undefined;
    }
    const at = Date.now();
    const seq = numbered ? sql`select seq from head` : undefined;
    const selections: Array<AliasedRawBuilder<unknown, string>> = changes.map((change, i) =>
      notifyChange(change, at, i === changes.length - 1 ? seq : undefined).as(`n${i}`),
    );
    // Data-modifying WITHs run whether or not the select reads them.
    // biome-ignore lint/suspicious/noExplicitAny: each WITH adds a table to the type, which a `let` cannot follow.
    let query = trx as unknown as QueryCreator<any>;
    if (numbered) {
      query = query.with('head', (db) => db.updateTable('change_sequence').set({ seq: sql`seq + 1` }).where('id', '=', 1).returning('seq'));
      selections.push(sql`(select seq from head)`.as('seq'));
    }
    if (alongside !== undefined) query = query.with('alongside', () => alongside);
    const row = (await query.selectNoFrom(selections).executeTakeFirst()) as { seq?: number | string } | undefined;
    return numbered ? Number(row?.seq) : undefined;
  }

  /** After the commit of an access-reducing unit numbered `seq`: waits until every other live instance has applied it (PostgreSQL). */
  async acknowledged(seq: number): Promise<void> {
    await this.acknowledgements?.wait(seq);
  }
}
