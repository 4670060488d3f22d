import type { HttpHandler, HttpRequest } from './http';
import { tracer } from './tracing';

const inSpan = new WeakSet<HttpRequest>();

/**
 * A server span around each request (OpenTelemetry HTTP server conventions): it continues the caller's
 * `traceparent`, is named `{method} {route}` once the router matched a route (`{method}` before), and carries
 * `http.request.method`, `url.path`, `http.route`, `http.response.status_code`; a 5xx sets status error.
 * `service` names what answered (`migration.service`). Off: the handler itself, unwrapped.
 */
export function traceHttp(handler: HttpHandler, service: string): HttpHandler {
  return (req: HttpRequest) => {
    const t = tracer();
    if (!t.enabled || inSpan.has(req)) return handler(req); // an outer wrapper (the Cloud Run entry) already made the server span
    inSpan.add(req);
    return t.withSpan(
      req.method,
      {
        kind: 'server',
        traceparent: req.headers['traceparent'],
        attributes: { 'http.request.method': req.method, 'url.path': req.path, 'migration.service': service, 'user_agent.original': req.headers['user-agent'] },
      },
      async (span) => {
        const res = await handler(req);
        span.setAttribute('http.response.status_code', res.status);
        if (res.status >= 500) span.setStatus('error', `HTTP ${res.status}`);
        return res;
      },
    );
  };
}
