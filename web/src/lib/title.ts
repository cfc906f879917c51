import { useEffect } from 'react';

/**
 * Names the browser tab. It sets the one <title> of index.html: a <title> rendered by React 19
 * would be hoisted into <head> as a second one, which screen readers and crawlers trip on.
 */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Tessera`;
  }, [title]);
}
