import { useCallback, useState } from 'react';
import { Button, Select } from './ui';

/**
 * Cursor pagination state: the cursors of the pages visited so far, so that "Previous" needs
 * no offset and every page is one indexed query on the server, however large the table.
 */
export function useCursorPages(initialSize = 50) {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  const [size, setSize] = useState(initialSize);
  // A no-op on the first page, so that a filter or sort change costs no extra render.
  const reset = useCallback(() => setStack((s) => (s.length === 1 ? s : [undefined])), []);
  return {
    cursor: stack[stack.length - 1],
    page: stack.length,
    size,
    setSize: (n: number) => {
      setSize(n);
      reset();
    },
    next: (cursor: string) => setStack((s) => [...s, cursor]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset,
  };
}

const SIZES = [25, 50, 100, 200].map((n) => ({ id: String(n), label: String(n) }));

export function Pager({ pages, shown, nextCursor, noun }: { pages: ReturnType<typeof useCursorPages>; shown: number; nextCursor: string | null | undefined; noun: string }) {
  const first = (pages.page - 1) * pages.size + (shown > 0 ? 1 : 0);
  const last = (pages.page - 1) * pages.size + shown;
  return (
    <div className="pager" role="group" aria-label="Pagination">
      <span className="pager-range" aria-live="polite">{shown === 0 ? `No ${noun}` : `${noun[0]!.toUpperCase()}${noun.slice(1)} ${first}–${last}`}</span>
      <Select label="Rows per page" options={SIZES} value={String(pages.size)} onChange={(v) => pages.setSize(Number(v))} className="pager-size inline" />
      <Button onPress={pages.previous} isDisabled={pages.page === 1}>Previous</Button>
      <span className="pager-page">Page {pages.page}</span>
      <Button onPress={() => nextCursor && pages.next(nextCursor)} isDisabled={!nextCursor}>Next</Button>
    </div>
  );
}
