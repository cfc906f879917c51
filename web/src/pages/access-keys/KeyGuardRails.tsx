/**
 * The key page's "Limits" panel: the facts that restrict where and how fast a key may be used
 * (its network allowlist and rate limit, issue 18 parts 1 and 2). Each fact is one entry of
 * `limitFactsOf`; the panel is left out while a key has none to show.
 */
import type { ReactNode } from 'react';
import type { AccessKey } from '../../api/types';

export function limitFactsOf(_key: AccessKey): { label: string; value: ReactNode }[] {
  return [];
}

export function KeyGuardRails({ accessKey }: { accessKey: AccessKey }) {
  const facts = limitFactsOf(accessKey);
  if (facts.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="key-limits">
      <h2 id="key-limits">Limits</h2>
      <dl className="kv">
        {facts.map((f) => (
          <div key={f.label} className="kv-row">
            <dt>{f.label}</dt>
            <dd>{f.value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
