import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** The status (and headers) the next requests get; 200 by default. */
  answer(status: number | ((request: Received) => number), headers?: Record<string, string>): void;
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1 that keeps every request it gets. */
export async function startReceiver(options: { delayMs?: number } = {}): Promise<Receiver> {
  const received: Received[] = [];
  let status: number | ((request: Received) => number) = 200;
  let extraHeaders: Record<string, string> = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const code = typeof status === 'function' ? status(request) : status;
      setTimeout(() => res.writeHead(code, extraHeaders).end('ok'), options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hooks/tessera`,
    received,
    answer(next, headers = {}) {
      status = next;
      extraHeaders = headers;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
