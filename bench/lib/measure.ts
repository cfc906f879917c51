import autocannon, { type RawRequest } from 'autocannon';
import { loadavg } from 'node:os';

/** One autocannon run, reduced to what the report uses. */
export interface LoadResult {
  /** Requests answered per second over the whole run. */
  rps: number;
  /** Latency percentiles of the 2xx answers, ms, from each response's own time (not autocannon's whole-ms histogram). */
  p50: number;
  p97_5: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** The one-minute load average of the machine when the run ended (other work shares it). */
  load: number;
}

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  token?: string | undefined;
  /** A different token on each request, in turn. */
  tokens?: readonly string[] | undefined;
  method?: 'GET' | 'POST';
  /** A body made fresh for each request (POST). */
  body?: (() => string) | undefined;
}

/** One autocannon run. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const series = new LoadSeries();
  await series.run(options);
  return series.result();
}

/**
 * Several runs of one target counted as one run: their requests, time and latencies together
 * (the percentiles over every answer of every run). A target measured in short slices, in turn
 * with others, meets the same spells of machine noise as they do.
 */
export class LoadSeries {
  /** autocannon records latency in whole milliseconds; a 0.2 ms target needs the exact times. */
  readonly #latencies: number[] = [];
  #requests = 0;
  #seconds = 0;
  #non2xx = 0;
  #errors = 0;

  async run(options: LoadOptions): Promise<void> {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let next = 0;
    const { tokens, body } = options;
    const setupRequest =
      tokens !== undefined || body !== undefined
        ? (request: RawRequest): RawRequest => {
            const h = { ...request.headers };
            if (tokens !== undefined) h['authorization'] = `Bearer ${tokens[next++ % tokens.length]}`;
            return { ...request, headers: h, ...(body !== undefined ? { body: body() } : {}) };
          }
        : undefined;
    const run = autocannon({
      url: options.url,
      connections: options.connections,
      duration: options.seconds,
      method: options.method ?? 'GET',
      headers,
      ...(setupRequest !== undefined ? { requests: [{ method: options.method ?? 'GET', headers, setupRequest }] } : {}),
    });
    run.on('response', (_client, statusCode, _bytes, responseTime) => {
      const status = Number(statusCode);
      if (status >= 200 && status < 300) this.#latencies.push(responseTime);
    });
    const result = await run;
    this.#requests += result.requests.total;
    this.#seconds += result.duration;
    this.#non2xx += result.non2xx;
    this.#errors += result.errors;
  }

  result(): LoadResult {
    return {
      rps: this.#requests / this.#seconds,
      p50: percentile(this.#latencies, 50),
      p97_5: percentile(this.#latencies, 97.5),
      p99: percentile(this.#latencies, 99),
      requests: this.#requests,
      non2xx: this.#non2xx,
      errors: this.#errors,
      load: loadavg()[0] ?? 0,
    };
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The nearest-rank percentile of `values` (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A request timed from send to the last byte of the body, ms. */
export async function timed(url: string, init: RequestInit = {}): Promise<{ ms: number; status: number; body: string }> {
  const started = performance.now();
  const response = await fetch(url, init);
  const body = await response.text();
  return { ms: performance.now() - started, status: response.status, body };
}

/** Milliseconds as the benchmark's tables print them; "n/a" without a figure. */
export const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)} ms` : 'n/a');

/**
 * One row of a markdown latency table: `label`, then (with `count`) the number of samples,
 * then the p50, p99 and max of `times`; `bold` sets the p99 in bold (the figure a target is on).
 */
export function percentileRow(label: string, times: readonly number[], options: { count?: boolean; bold?: boolean } = {}): string {
  const p99 = ms(percentile(times, 99));
  const cells = [label, ...(options.count === true ? [String(times.length)] : []), ms(percentile(times, 50)), options.bold === true ? `**${p99}**` : p99];
  return `| ${[...cells, ms(times.length === 0 ? Number.NaN : Math.max(...times))].join(' | ')} |`;
}
