import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';

/**
 * A page's filters and sort, kept in the address so a reload, a bookmark or a shared link shows
 * the same list. A value equal to its default is left out of the address. Changes replace the
 * history entry: Back leaves the page rather than stepping through every keystroke of a filter.
 */
export function useUrlState<K extends string>(defaults: Readonly<Record<K, string>>): [Record<K, string>, (change: Partial<Record<K, string>>) => void] {
  const [params, setParams] = useSearchParams();
  const values = useMemo(
    () => Object.fromEntries(Object.entries<string>(defaults).map(([key, fallback]) => [key, params.get(key) ?? fallback])) as Record<K, string>,
    [params, defaults],
  );
  // One call carries every change: two calls in one event would each start from the same address.
  const update = useCallback(
    (change: Partial<Record<K, string>>) =>
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          for (const [key, value] of Object.entries<string | undefined>(change)) {
            if (value === undefined || value === defaults[key as K]) next.delete(key);
            else next.set(key, value);
          }
          return next;
        },
        { replace: true },
      ),
    [setParams, defaults],
  );
  return [values, update];
}
