import { type CursorPages, PAGE_SIZES } from '../lib/url-state';
import { Button, Select } from './ui';

const SIZES = PAGE_SIZES.map((n) => ({ id: String(n), label: String(n) }));

export function Pager({
  pages,
  shown,
  nextCursor,
  noun,
  prefetch,
}: {
  pages: CursorPages;
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
