import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface CaptureServer {
  url: string;
  requests: CapturedRequest[];
  /** Change the answer for the next requests. */
  respond(status: number, body: string, headers?: Record<string, string>): void;
  /** Answers for the next requests, in order (then the `respond` answer again). */
  queue(...answers: Array<{ status: number; body: string; headers?: Record<string, string> }>): void;
  stop(): Promise<void>;
}

/** A local HTTP server that records every request and answers what it is told (default 200 "ok"). */
export async function startCapture(): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  let answer = { status: 200, body: 'ok', headers: { 'content-type': 'text/plain' } as Record<string, string> };
  const queued: Array<typeof answer> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const a = queued.shift() ?? answer;
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(status, body, headers = { 'content-type': 'text/plain' }) {
      answer = { status, body, headers };
    },
    queue(...answers) {
      for (const a of answers) queued.push({ status: a.status, body: a.body, headers: a.headers ?? { 'content-type': 'text/plain' } });
    },
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
