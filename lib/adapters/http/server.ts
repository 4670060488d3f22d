import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { allowedHosts, checkBodyEncoding, checkBrowserSafety, errorResponse, matchedRoute, type AnsweredRequest, type HttpHandler, type HttpRequest } from '../../core/http';
import { DomainError } from '../../core/errors';
import { LIMITS } from '../../core/model';

export interface ServeOptions {
  port?: number;
  /** Default 127.0.0.1: local mode is never reachable from the network unless asked. */
  host?: string;
  maxBodyBytes?: number;
  /**
   * Refuse what a web page from another origin can send (local mode, see checkBrowserSafety): a Host that is
   * not this server's name (421) and state-changing requests without Content-Type: application/json (415).
   */
  browserGuard?: boolean;
  /** Told of every answered request (HTTP metrics: lib/adapters/prometheus/server-metrics.ts). */
  observe?: (r: AnsweredRequest) => void;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export interface RunningServer {
  server: http.Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serve a runtime-neutral HttpHandler on node:http. Bodies over the limit get 413 without being buffered. */
export async function serveHttp(handler: HttpHandler, opts: ServeOptions = {}): Promise<RunningServer> {
  const maxBody = opts.maxBodyBytes ?? LIMITS.maxBodyBytes;
  const host = opts.host ?? '127.0.0.1';
  let hosts: ReadonlySet<string> | null = null; // known once listening (port 0 picks the port)
  const guarded: HttpHandler = opts.browserGuard
    ? async (r) => {
        try {
          checkBrowserSafety(r, hosts);
        } catch (e) {
          return errorResponse(e);
        }
        return handler(r);
      }
    : handler;
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    let parsed: HttpRequest | undefined;
    void toHttpRequest(req, maxBody)
      .then((r) => guarded((parsed = r)), (e) => errorResponse(e))
      .then((r) => {
        res.writeHead(r.status, r.headers);
        res.end(req.method === 'HEAD' ? undefined : r.body);
        const method = (req.method ?? 'GET').toUpperCase();
        opts.observe?.({
          // a bounded label set: an unusual method is `other`, an unmatched path `unmatched`
          method: KNOWN_METHODS.has(method) ? method : 'other',
          route: (parsed && matchedRoute(parsed)) ?? 'unmatched',
          status: r.status,
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
        });
      })
      .catch((e) => {
        // The handler already maps errors to responses; this is a failure to write (client went away).
        process.stderr.write(`http: failed to answer ${req.method} ${req.url}: ${(e as Error).message}\n`);
        res.destroy();
      });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(host, port);
  return {
    server,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function toHttpRequest(req: http.IncomingMessage, maxBody: number): Promise<HttpRequest> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // e.g. an absolute-form target with a malformed host (`POST http://[bad/search`): the client's mistake
      req.resume();
      reject(new DomainError('bad_request', `the request target is not a valid URL: ${JSON.stringify(String(req.url).slice(0, 200))}`));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    try {
      checkBodyEncoding(headers);
    } catch (e) {
      req.resume();
      reject(e);
      return;
    }
    const declared = Number(headers['content-length'] ?? 0);
    if (declared > maxBody) {
      req.resume();
      reject(new DomainError('payload_too_large', `request body exceeds ${maxBody} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody && !failed) {
        failed = true;
        reject(new DomainError('payload_too_large', `request body exceeds ${maxBody} bytes`));
      }
      if (!failed) chunks.push(c);
    });
    req.on('end', () => {
      if (failed) return;
      let body: string | undefined;
      try {
        body = chunks.length ? utf8.decode(Buffer.concat(chunks)) : undefined;
      } catch {
        reject(new DomainError('bad_request', 'request body is not valid UTF-8'));
        return;
      }
      resolve({
        method: (req.method ?? 'GET').toUpperCase(),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body,
      });
    });
    req.on('error', reject);
  });
}
