import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { RefusedAddressError, resolveWebhookHost } from './addresses.ts';

/** How one POST to a receiver went. */
export interface PostOutcome {
  /** The receiver's status; null when it never answered. */
  statusCode: number | null;
  /** Why the attempt failed, in words fit for the deliveries list (never a secret); null on a 2xx. */
  error: string | null;
  durationMs: number;
}

export interface PostOptions {
  allowPrivate: boolean;
  /** For the whole attempt: resolving, connecting, sending and the answer's status line. */
  timeoutMs: number;
  /** Aborts the attempt (the server is stopping); it fails and is retried later. */
  signal?: AbortSignal | undefined;
}

const USER_AGENT = 'Tessera-Webhooks/1';

function describeFailure(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs / 1000} s`;
  if ((error as Error | undefined)?.name === 'AbortError' || (error as Error | undefined)?.message === 'aborted') return 'interrupted: the server was stopping';
  if (error instanceof RefusedAddressError) return `refused: ${error.message}`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name could not be resolved';
    case 'ECONNREFUSED':
      return 'the connection was refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'the connection was reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'the host is unreachable';
    default:
      return code !== undefined && /^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(code) ? `TLS failed (${code})` : 'the request failed';
  }
}

/**
 * POSTs a webhook body. The host is resolved once, each of its addresses checked (unless private
 * ones are allowed), and the connection made to the checked address, so that a second DNS answer
 * cannot steer it elsewhere (DNS rebinding); TLS still verifies the certificate for the host
 * name. Redirects are never followed: a 3xx is a failed attempt, so a redirect cannot lead to an
 * address that would have been refused.
 */
export async function postWebhook(url: URL, headers: Record<string, string>, body: string, options: PostOptions): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const stop = () => controller.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted === true) controller.abort();
  try {
    const target = await Promise.race([
      resolveWebhookHost(url.hostname, options.allowPrivate),
      new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
    ]);
    const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
      if ((lookupOptions as { all?: boolean }).all === true) {
        (callback as unknown as (err: null, addresses: Array<{ address: string; family: number }>) => void)(null, [target]);
      } else callback(null, target.address, target.family);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const statusCode = await new Promise<number>((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'POST',
          agent: false,
          lookup: pinned,
          signal: controller.signal,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': USER_AGENT },
        },
        (res: IncomingMessage) => {
          // Only the status matters: the body is not read, so a receiver that sends one slowly or
          // without end holds nothing here once the status line has come.
          resolve(res.statusCode ?? 0);
          res.destroy();
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    if (statusCode >= 200 && statusCode < 300) return { statusCode, error: null, durationMs: elapsed() };
    const error = statusCode >= 300 && statusCode < 400 ? `answered ${statusCode}: redirects are not followed` : `answered ${statusCode}`;
    return { statusCode, error, durationMs: elapsed() };
  } catch (error) {
    return { statusCode: null, error: describeFailure(error, timedOut, options.timeoutMs), durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
  }
}
