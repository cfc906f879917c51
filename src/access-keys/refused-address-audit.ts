import type { Logger } from 'pino';
import type { Transactions } from '../db/transactions.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';

/** A key and address refused are audited once in this period, however many requests come. */
export const REFUSED_ADDRESS_AUDIT_WINDOW_MS = 60_000;

/**
 * Audits a valid key used from outside its allowlist (`ip-not-allowed`), at most once a minute
 * per key and address: the window is counted in the rate limiter, so with Redis the instances
 * share it. Runs after the 403 is on its way: the request path neither waits nor writes.
 */
export class RefusedAddressAudit {
  constructor(
    private readonly transactions: Transactions,
    private readonly limiter: RateLimiter,
    private readonly log: Logger,
  ) {}

  /** The listener for AccessKeyAuthenticator.onAddressRefused. */
  readonly record = (keyId: string, keyName: string, ip: string): void => {
    void this.#record(keyId, keyName, ip).catch((err: unknown) => this.log.warn({ err, keyId }, 'could not audit a request from outside a key allowlist'));
  };

  async #record(keyId: string, keyName: string, ip: string): Promise<void> {
    const window = await this.limiter.increment(`ip-refused:${keyId}:${ip}`, REFUSED_ADDRESS_AUDIT_WINDOW_MS);
    if (window.count !== 1) return;
    await this.transactions.run({ name: `key:${keyName}`, ip }, async (work) => {
      work.audit({ category: 'access-keys', resource: keyName, resourceId: keyId, action: 'ip-not-allowed', detail: { name: keyName, ip } });
    });
  }
}
