import type { HttpHandler, HttpRequest, HttpResponse } from './http';
import { tracer, type Span, type SpanOptions } from './tracing';

/**
 * A server span around each request (OpenTelemetry HTTP server conventions): it continues the caller's
 * `traceparent` (or the active span: a Lambda invocation's), is named `{method} {route}` once the router matched
 * a route (`{method}` before), and carries `http.request.method`, `url.path`, `http.route`,
 * `http.response.status_code`; a 5xx sets status error. `service` names what answered (`migration.service`).
 * The span rides on the request (`req.span`): the routes hand it down explicitly (lib/core/tracing.ts), so a
 * request enters no AsyncLocalStorage unless `activate` (an entry whose inner code finds its parent through the
 * active span: the Cloud Run entry, whose log lines read it). Off: the handler itself, unwrapped.
 */
export function traceHttp(handler: HttpHandler, service: string, o: { activate?: boolean } = {}): HttpHandler {
  return (req: HttpRequest) => {
    const t = tracer();
    if (!t.enabled || req.span) return handler(req); // an outer wrapper (the Cloud Run entry) already made the server span
    const options: SpanOptions = { kind: 'server', traceparent: req.headers['traceparent'] };
    const run = async (span: Span): Promise<HttpResponse> => {
      req.span = span;
      if (span.recording) span.setAttributes({ 'http.request.method': req.method, 'url.path': req.path, 'migration.service': service, 'user_agent.original': req.headers['user-agent'] });
      const res = await handler(req);
      if (span.recording) {
        span.setAttribute('http.response.status_code', res.status);
        if (res.status >= 500) span.setStatus('error', `HTTP ${res.status}`);
      }
      return res;
    };
    return o.activate ? t.withSpan(req.method, options, run) : t.childSpan(undefined, req.method, options, run);
  };
}
