import type { ChangeKind } from '../changes/change.ts';
import type { ChangeBus } from '../changes/change-bus.ts';
import { BoundedCache } from '../util/bounded-cache.ts';

/**
 * Answers of a read, kept until a change of one of `kinds` commits, in this process or
 * another (see the change bus). While the bus is not live every lookup reads afresh. A read
 * that raced a change is returned but not kept.
 */
export class ReadCache<V> {
  readonly #entries: BoundedCache<string, V>;
  #generation = 0;
  readonly #unsubscribe: () => void;
  /** Lookups since start, for `/metrics`. Counting only: no behaviour depends on it. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly changes: Pick<ChangeBus, 'live' | 'subscribe'>,
    kinds: readonly ChangeKind[],
    capacity: number,
  ) {
    this.#entries = new BoundedCache(capacity);
    this.#unsubscribe = changes.subscribe(kinds, () => {
      this.#generation++;
      this.#entries.clear();
    });
  }

  /**
   * The kept answer for `key`, without a promise: the hot path. Undefined when there is none
   * (or the bus is not live); then `get` reads it (and counts the miss).
   */
  cached(key: string): V | undefined {
    if (!this.changes.live) return undefined;
    const cached = this.#entries.get(key);
    if (cached !== undefined) this.stats.hits++;
    return cached;
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const cached = this.cached(key);
    if (cached !== undefined) return cached;
    this.stats.misses++;
    const generation = this.#generation;
    const value = await load();
    if (generation === this.#generation && this.changes.live) this.#entries.set(key, value);
    return value;
  }

  close(): void {
    this.#unsubscribe();
    this.#entries.clear();
  }
}
