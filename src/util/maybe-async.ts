/** A value now, or a promise of it: what a path that is synchronous when its data is in memory returns. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `next(value)`, at once when `value` is not a promise; else after it settles. Lets a chain of
 * steps that are usually synchronous (a verification key already loaded, a SQLite read) run
 * without a promise or a microtask per step, and wait only where a step really waits.
 */
export function andThen<T, R>(value: MaybePromise<T>, next: (settled: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
