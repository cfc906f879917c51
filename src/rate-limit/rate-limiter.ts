/** A counter in a fixed window that starts at its first hit. */
export interface WindowCount {
  count: number;
  /** Epoch milliseconds when the window ends and the count starts over. */
  resetAt: number;
}

/**
 * Counts events per key in fixed windows (sign-in failures, request rates). In-process by
 * default; shared through Redis when REDIS_URL is set, so every instance sees one count.
 */
export interface RateLimiter {
  /** Adds one event to `key`'s window (opening a window of `windowMs` if none is open). */
  increment(key: string, windowMs: number): Promise<WindowCount>;
  /** The open window of `key`, if any. */
  get(key: string): Promise<WindowCount | undefined>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The in-process limiter: exact for one instance; bounded so a flood of keys cannot grow it without end. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, WindowCount>();
  constructor(
    private readonly clock: () => Date,
    private readonly maxKeys = 100_000,
  ) {}

  async increment(key: string, windowMs: number): Promise<WindowCount> {
    return { ...this.hit(key, windowMs) };
  }

  /**
   * `increment` without a promise, for callers on the synchronous request path: the window
   * itself, not a copy (read it at once; the next hit changes it). `now` (epoch ms) is the
   * limiter's clock unless the caller has just read it.
   */
  hit(key: string, windowMs: number, now: number = this.clock().getTime()): Readonly<WindowCount> {
    let window = this.#windows.get(key);
    if (window === undefined || window.resetAt <= now) {
      if (this.#windows.size >= this.maxKeys) this.#sweep(now);
      window = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count++;
    return window;
  }

  async get(key: string): Promise<WindowCount | undefined> {
    const window = this.#windows.get(key);
    if (window === undefined || window.resetAt <= this.clock().getTime()) return undefined;
    return { ...window };
  }

  async reset(key: string): Promise<void> {
    this.#windows.delete(key);
  }

  async close(): Promise<void> {
    this.#windows.clear();
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
    // Still full: drop the oldest windows rather than grow.
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.maxKeys) break;
      this.#windows.delete(key);
    }
  }
}
