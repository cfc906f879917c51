/**
 * A list's view — filters, sort, typed search, page and rows per page — kept in the address, so
 * a reload, Back and Forward, a bookmark or a shared link show the same rows. Every list page
 * uses these hooks; nothing of a list's view lives only in component state.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useLocation, useNavigate, useSearchParams } from 'react-router';

/** The cursors of the pages before this one, oldest first: one `after` per page turned. */
const AFTER = 'after';
const SIZE = 'size';
export const PAGE_SIZES = [25, 50, 100, 200] as const;
const DEFAULT_SIZE = 50;

/**
 * Writes the address. Router updates render in a transition, so the page can be a step behind
 * the address: each change starts from the address as it is now (an edit made soon after another
 * — a typed filter landing as a select changes — would otherwise undo it), and a change made
 * after the user has left for another page (a typed filter landing as a row opens) is dropped
 * rather than bringing them back.
 */
function useParamsWriter(): (change: (next: URLSearchParams) => void, options: { replace: boolean }) => void {
  const [, setParams] = useSearchParams();
  const { pathname } = useLocation();
  return useCallback(
    (change, options) => {
      if (window.location.pathname !== pathname) return;
      setParams(() => {
        const next = new URLSearchParams(window.location.search);
        change(next);
        return next;
      }, options);
    },
    [setParams, pathname],
  );
}

/**
 * A page's filters and sort. A value equal to its default is left out of the address. Changes
 * replace the history entry (Back leaves the page rather than stepping through every filter), and
 * go back to the first page in the same write: a cursor is never sent with a sort or filter it
 * was not made for.
 */
export function useUrlState<K extends string>(defaults: Readonly<Record<K, string>>): [Record<K, string>, (change: Partial<Record<K, string>>) => void] {
  const [params] = useSearchParams();
  const write = useParamsWriter();
  const values = useMemo(
    () => Object.fromEntries(Object.entries<string>(defaults).map(([key, fallback]) => [key, params.get(key) ?? fallback])) as Record<K, string>,
    [params, defaults],
  );
  // One call carries every change: two calls in one event would each start from the same address.
  const update = useCallback(
    (change: Partial<Record<K, string>>) =>
      write(
        (next) => {
          for (const [key, value] of Object.entries<string | undefined>(change)) {
            if (value === undefined || value === defaults[key as K]) next.delete(key);
            else next.set(key, value);
          }
          next.delete(AFTER);
        },
        { replace: true },
      ),
    [write, defaults],
  );
  return [values, update];
}

/**
 * A text filter typed into a box: the box follows every keystroke, the address (and so the query)
 * takes the trimmed text a moment after the last one. When the address changes by other means —
 * Back, Forward, "Clear filters" — the box shows its text again.
 */
export function useTypedFilter(committed: string, commit: (text: string) => void, delayMs = 250): [string, (text: string) => void] {
  const [draft, setDraft] = useState(committed);
  const latestCommit = useRef(commit);
  latestCommit.current = commit;
  useEffect(() => setDraft((typed) => (typed.trim() === committed ? typed : committed)), [committed]);
  useEffect(() => {
    const text = draft.trim();
    if (text === committed) return;
    const timer = setTimeout(() => latestCommit.current(text), delayMs);
    return () => clearTimeout(timer);
  }, [draft, committed, delayMs]);
  return [draft, setDraft];
}

/** Cursor pagination, as the Pager shows it. */
export interface CursorPages {
  /** The cursor of the page shown; undefined on the first page. */
  cursor: string | undefined;
  /** 1 for the first page. */
  page: number;
  size: number;
  setSize: (size: number) => void;
  next: (cursor: string) => void;
  previous: () => void;
}

/**
 * The page shown, as the cursors of the pages turned to reach it: "Previous" needs no offset and
 * every page is one indexed query on the server, however large the table. Turning a page adds a
 * history entry, so Back turns it back.
 */
export function useUrlPages(): CursorPages {
  const [params] = useSearchParams();
  const write = useParamsWriter();
  const stack = params.getAll(AFTER);
  const asked = Number(params.get(SIZE));
  const size = (PAGE_SIZES as readonly number[]).includes(asked) ? asked : DEFAULT_SIZE;
  return {
    cursor: stack.at(-1),
    page: stack.length + 1,
    size,
    setSize: (n) =>
      write(
        (next) => {
          next.delete(AFTER);
          if (n === DEFAULT_SIZE) next.delete(SIZE);
          else next.set(SIZE, String(n));
        },
        { replace: true },
      ),
    next: (cursor) => write((next) => next.append(AFTER, cursor), { replace: false }),
    previous: () =>
      write(
        (next) => {
          const before = next.getAll(AFTER).slice(0, -1);
          next.delete(AFTER);
          for (const cursor of before) next.append(AFTER, cursor);
        },
        { replace: false },
      ),
  };
}

/** The address's value when the list offers it, else the fallback: a hand-edited or stale link never reaches the query. */
export function offered(value: string, options: readonly { id: string }[], fallback = 'any'): string {
  return options.some((option) => option.id === value) ? value : fallback;
}

/** Opens a row's own page, remembering the list's view for that page's "← All …" link. */
export function useOpenFromList(): (path: string) => void {
  const navigate = useNavigate();
  const { search } = useLocation();
  return useCallback((path: string) => void navigate(path, { state: { listView: search } }), [navigate, search]);
}

/** The list's address with the view the user opened this page from, when there was one. */
export function useListAddress(listPath: string): string {
  const state: unknown = useLocation().state;
  const view = typeof state === 'object' && state !== null && 'listView' in state ? state.listView : undefined;
  return typeof view === 'string' && view.startsWith('?') ? `${listPath}${view}` : listPath;
}
