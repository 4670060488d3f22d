/**
 * The Cloud Run runtime: serves one handler (report, validation, search proxy, log ingest: the factories in
 * lib/adapters/gcp/run/) on Cloud Run, either as a Cloud Run function (2nd gen, the Functions Framework calls
 * `functionsFramework`) or as a container on a Cloud Run service (`listen()` on $PORT with serveHttp). The
 * handlers are runtime-neutral HttpHandlers: nothing here emulates Lambda events.
 *
 * Security model: Cloud Run's IAM check (roles/run.invoker, held only by the scheduler's service account)
 * verifies the caller's OIDC token before a request reaches this code, and ingress is internal. This entry
 * adds a second, cheap line: a request without `Authorization: Bearer ...` is refused with 401, so a service
 * that was accidentally opened to `allUsers` still answers nobody. It logs the caller's e-mail claim (Cloud
 * Run removes the token signature before forwarding, so the claims are read, never trusted for more).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lazyOnce } from '../../core/once';
import { errorResponse, json, type HttpHandler, type HttpRequest, type HttpResponse } from '../../core/http';
import { DomainError } from '../../core/errors';
import { serveHttp, type RunningServer } from '../http/server';
import { LogLineMetrics, traceFields } from './log-line-metrics';
import { traceHttp } from '../../core/tracing-http';

/** How the bundled module's export is called: an HttpHandler, or a (possibly async) factory returning one. */
export type CloudRunAdapter = 'http';

export interface CloudRunEntryOptions {
  /** Handler name, used in logs and in the `Handler` dimension of HandlerErrors. */
  name: string;
  adapter?: CloudRunAdapter;
  /** Name of the export in the handler module. Default `handler`. */
  exportName?: string;
  /** Refuse requests without a bearer token. Default true. */
  requireBearer?: boolean;
  /** Structured log sink (one JSON object per line on stdout by default: Cloud Logging parses it). */
  log?: (entry: Record<string, unknown>) => void;
}

/** What Cloud Scheduler tells the target about the run, from its request headers. */
export interface SchedulerRun {
  jobName: string;
  /** RFC 3339 schedule time of this run; the same on every retry of the run. */
  scheduleTime?: string;
}

const stdoutLog = (entry: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(entry) + '\n');
};

/** The Cloud Scheduler run this request belongs to, or null when it was not sent by Cloud Scheduler. */
export function schedulerRun(req: HttpRequest): SchedulerRun | null {
  if (req.headers['x-cloudscheduler'] !== 'true') return null;
  const jobName = req.headers['x-cloudscheduler-jobname'];
  if (!jobName) return null;
  const scheduleTime = req.headers['x-cloudscheduler-scheduletime'];
  return scheduleTime ? { jobName, scheduleTime } : { jobName };
}

/** Claims of a JWT bearer token, read without verification (Cloud Run verified it), or null. */
export function bearerClaims(req: HttpRequest): Record<string, unknown> | null {
  const m = /^Bearer\s+([^.\s]+)\.([^.\s]+)\.?\S*$/i.exec(req.headers['authorization'] ?? '');
  if (!m) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null; // an opaque (non-JWT) bearer token has no claims to log
  }
}

/**
 * Wrap a handler for Cloud Run: bearer check, one access log line per request, and a HandlerErrors
 * datapoint (spec metric, read by the log-based metric) for every 5xx.
 */
export function cloudRunHandler(inner: HttpHandler, opts: CloudRunEntryOptions): HttpHandler {
  const log = opts.log ?? stdoutLog;
  const requireBearer = opts.requireBearer ?? true;
  // The request's Cloud Trace fields go on every line written for it: with tracing off there is no active span
  // for the writers to read them from, so this entry adds them (record() writes synchronously, inside the request).
  let requestTrace: Record<string, unknown> = {};
  const errors = new LogLineMetrics({ write: (line) => log({ ...(JSON.parse(line) as Record<string, unknown>), ...requestTrace }) });
  return traceHttp(async (req) => {
    const started = Date.now();
    const trace = () => traceFields(req.headers);
    const run = schedulerRun(req);
    let res: HttpResponse;
    if (requireBearer && !/^Bearer\s+\S+/i.test(req.headers['authorization'] ?? '')) {
      res = errorResponse(new DomainError('unauthorized', 'missing Authorization: Bearer <OIDC token> header (Cloud Run invokers send one)'));
    } else {
      try {
        res = await inner(req);
      } catch (e) {
        res = errorResponse(e, (err) => log({ severity: 'ERROR', message: `${opts.name}: ${(err as Error)?.stack ?? String(err)}`, handler: opts.name, ...trace() }));
      }
    }
    const caller = bearerClaims(req)?.['email'];
    const entry: Record<string, unknown> = {
      severity: res.status >= 500 ? 'ERROR' : res.status >= 400 ? 'WARNING' : 'INFO',
      message: `${req.method} ${req.path} ${res.status}`,
      handler: opts.name,
      httpRequest: { requestMethod: req.method, requestUrl: req.path, status: res.status, latency: `${(Date.now() - started) / 1000}s`, userAgent: req.headers['user-agent'] },
      ...(typeof caller === 'string' ? { caller } : {}),
      ...(run ? { schedulerJob: run.jobName, scheduleTime: run.scheduleTime } : {}),
      ...trace(),
    };
    log(entry);
    // The spec metric the handler-errors alert reads, written by the one log-line writer.
    if (res.status >= 500) {
      requestTrace = trace();
      try {
        errors.record({ metric: 'HandlerErrors', labels: { Handler: opts.name }, value: 1, mode: 'add' });
      } finally {
        requestTrace = {};
      }
    }
    return res;
  }, opts.name, { activate: true }); // its inner code (log ingest, jobs) and its log lines find the span as the active one
}

/** Resolve the module's export into an HttpHandler according to the adapter. */
export async function resolveHandler(mod: Record<string, unknown>, opts: CloudRunEntryOptions): Promise<HttpHandler> {
  const exportName = opts.exportName ?? 'handler';
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw new Error(`${opts.name}: the handler module has no function export "${exportName}" (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  }
  // An HttpHandler takes one argument (the request); a factory takes none.
  if (fn.length >= 1) return fn as HttpHandler;
  const made: unknown = await (fn as () => unknown)();
  if (typeof made !== 'function') throw new Error(`${opts.name}: the factory "${exportName}" did not return an HttpHandler`);
  return made as HttpHandler;
}

/** A request object as the Functions Framework (Express) passes it: the body is already read into `rawBody`. */
export type FunctionsFrameworkRequest = IncomingMessage & { rawBody?: Buffer; body?: unknown; path?: string };

/** Functions Framework (Cloud Run functions) signature → HttpHandler. */
export function functionsFrameworkAdapter(handler: () => Promise<HttpHandler>) {
  return async (req: FunctionsFrameworkRequest, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    let body: string | undefined;
    if (req.rawBody !== undefined) body = req.rawBody.length ? req.rawBody.toString('utf8') : undefined;
    else if (typeof req.body === 'string') body = req.body;
    else if (req.body !== undefined && req.body !== null && !(typeof req.body === 'object' && Object.keys(req.body).length === 0)) body = JSON.stringify(req.body);
    const httpReq: HttpRequest = { method: (req.method ?? 'GET').toUpperCase(), path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body };
    const out = await (await handler())(httpReq);
    res.writeHead(out.status, out.headers);
    res.end(httpReq.method === 'HEAD' ? undefined : out.body);
  };
}

export interface CloudRunEntry {
  /** The export the Functions Framework calls (entry point `mmHandler` in the bundle). */
  functionsFramework: ReturnType<typeof functionsFrameworkAdapter>;
  /** Serve on $PORT (default 8080) on all interfaces, as a Cloud Run container must. */
  listen(port?: number, host?: string): Promise<RunningServer>;
  handler(): Promise<HttpHandler>;
}

/**
 * Build the entry for one handler module. The handler is made on the first request; a failed start (a secret
 * not yet readable, a bad variable) answers 500 naming the problem, is logged, and is tried again on the next
 * request instead of leaving the instance broken.
 */
export function cloudRunEntry(mod: Record<string, unknown>, opts: CloudRunEntryOptions): CloudRunEntry {
  const log = opts.log ?? stdoutLog;
  const made = lazyOnce(() => resolveHandler(mod, opts));
  const inner: HttpHandler = async (req) => {
    let h: HttpHandler;
    try {
      h = await made.get();
    } catch (e) {
      log({ severity: 'ERROR', message: `${opts.name} could not start: ${(e as Error)?.message ?? String(e)}`, handler: opts.name });
      return json(500, { error: { code: 'misconfigured', message: `${opts.name} could not start: ${(e as Error)?.message ?? String(e)}` } });
    }
    return h(req);
  };
  const wrapped = cloudRunHandler(inner, opts);
  const handler = async () => wrapped;
  return {
    functionsFramework: functionsFrameworkAdapter(handler),
    handler,
    listen: (port = Number(process.env['PORT'] ?? 8080), host = '0.0.0.0') => serveHttp(wrapped, { port, host }),
  };
}
