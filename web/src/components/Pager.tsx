import { useState } from 'react';
import { Button, Select } from './ui';

/**
 * Cursor pagination state: the cursors of the pages visited so far, so that "Previous" needs
 * no offset and every page is one indexed query on the server, however large the table.
 * `view` names the sort and filters the cursors belong to: when it changes, the pages start
 * over at once (a cursor is never sent with a sort or filter it was not made for).
 */
export function useCursorPages(view: string, initialSize = 50) {
  const [state, setState] = useState<{ view: string; stack: (string | undefined)[] }>({ view, stack: [undefined] });
  const [size, setSize] = useState(initialSize);
  const stack = state.view === view ? state.stack : [undefined];
  return {
    cursor: stack[stack.length - 1],
    page: stack.length,
    size,
    setSize: (n: number) => {
      setSize(n);
      setState({ view, stack: [undefined] });
    },
    next: (cursor: string) => setState({ view, stack: [...stack, cursor] }),
    previous: () => setState({ view, stack: stack.length > 1 ? stack.slice(0, -1) : stack }),
  };
}

const SIZES = [25, 50, 100, 200].map((n) => ({ id: String(n), label: String(n) }));

export function Pager({
  pages,
  shown,
  nextCursor,
  noun,
  prefetch,
}: {
  pages: ReturnType<typeof useCursorPages>;
  shown: number;
  nextCursor: string | null | undefined;
  noun: string;
  /** Loads the page at this cursor before it is shown, so the table changes once, to the new rows. */
  prefetch?: (cursor: string | undefined) => Promise<unknown>;
}) {
  const first = (pages.page - 1) * pages.size + (shown > 0 ? 1 : 0);
  const last = (pages.page - 1) * pages.size + shown;
  const go = (cursor: string | undefined, move: () => void) => (prefetch ? void prefetch(cursor).finally(move) : move());
  return (
    <div className="pager" role="group" aria-label="Pagination">
      <span className="pager-range" aria-live="polite">
        {shown === 0 ? `No ${noun}` : `${noun[0]!.toUpperCase()}${noun.slice(1)} ${first}–${last}`}
      </span>
      <Select label="Rows per page" options={SIZES} value={String(pages.size)} onChange={(v) => pages.setSize(Number(v))} className="pager-size inline" />
      <Button onPress={pages.previous} isDisabled={pages.page === 1}>
        Previous
      </Button>
      <span className="pager-page">Page {pages.page}</span>
      <Button onPress={() => nextCursor && go(nextCursor, () => pages.next(nextCursor))} isDisabled={!nextCursor}>
        Next
      </Button>
    </div>
  );
}
