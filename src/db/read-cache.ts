import { BoundedCache } from '../util/bounded-cache.ts';
import type { ChangeFeed } from './change-feed.ts';
import type { Change, Transactions } from './transactions.ts';

/**
 * Answers of a read, kept until a change of one of `kinds` commits: in this process (announced
 * by `Transactions.run` before the writer answers) or in another one (heard through the change
 * feed: on SQLite by the `feed.sync()` the access-control hook runs at the start of every
 * request, on PostgreSQL by LISTEN). While the feed is not live every lookup reads afresh. A
 * read that raced a change is returned but not kept.
 */
export class ReadCache<V> {
  readonly #entries: BoundedCache<string, V>;
  #generation = 0;
  readonly #unsubscribe: () => void;
  /** Lookups since start, for `/metrics`. Counting only: no behaviour depends on it. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly feed: ChangeFeed,
    transactions: Transactions,
    kinds: ReadonlyArray<Change['kind']>,
    capacity: number,
  ) {
    this.#entries = new BoundedCache(capacity);
    this.#unsubscribe = transactions.onChange((change) => {
      if (change.kind === 'any' || kinds.includes(change.kind)) {
        this.#generation++;
        this.#entries.clear();
      }
    });
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.feed.live) {
      const cached = this.#entries.get(key);
      if (cached !== undefined) {
        this.stats.hits++;
        return cached;
      }
    }
    this.stats.misses++;
    const generation = this.#generation;
    const value = await load();
    if (generation === this.#generation && this.feed.live) this.#entries.set(key, value);
    return value;
  }

  close(): void {
    this.#unsubscribe();
    this.#entries.clear();
  }
}
