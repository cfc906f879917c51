/**
 * A Map with a size bound: when full, the oldest entry goes (insertion order). Cheaper on
 * the hot path than a true LRU, and enough for caches that are refilled on a miss.
 */
export class BoundedCache<K, V> {
  readonly #map = new Map<K, V>();
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
  }
  get(key: K): V | undefined {
    return this.#map.get(key);
  }
  has(key: K): boolean {
    return this.#map.has(key);
  }
  set(key: K, value: V): void {
    if (!this.#map.has(key) && this.#map.size >= this.capacity) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
    this.#map.set(key, value);
  }
  delete(key: K): void {
    this.#map.delete(key);
  }
  clear(): void {
    this.#map.clear();
  }
  get size(): number {
    return this.#map.size;
  }
}
