/**
 * The Cloud Run entry: serves one handler (report, validation, search proxy, or any HttpHandler) on Cloud Run,
 * either as a Cloud Run function (2nd gen, the Functions Framework calls `functionsFramework`) or as a
 * container on a Cloud Run service (`listen()` on $PORT with serveHttp).
 *
 * Security model: Cloud Run's IAM check (roles/run.invoker, held only by the scheduler's service account)
 * verifies the caller's OIDC token before a request reaches this code, and ingress is internal. This entry
 * adds a second, cheap line: a request without `Authorization: Bearer ...` is refused with 401, so a service
 * that was accidentally opened to `allUsers` still answers nobody. It logs the caller's e-mail claim (Cloud
 * Run removes the token signature before forwarding, so the claims are read, never trusted for more).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { errorResponse, json, methodNotAllowed, type HttpHandler, type HttpRequest, type HttpResponse } from '../lib/core/http';
import { DomainError } from '../lib/core/errors';
import { serveHttp, type RunningServer } from '../lib/adapters/local/http-server';

/**
 * How the bundled module's export is called:
 * - `http`: an HttpHandler, or a (possibly async) factory returning one, called with no arguments.
 * - `lambda-apigw`: a Lambda handler for API Gateway HTTP API (payload v2) events.
 * - `lambda-event`: a Lambda handler for scheduled events; the request body (JSON) is the event, as the
 *   `Input` of an EventBridge schedule would be.
 */
export type CloudRunAdapter = 'http' | 'lambda-apigw' | 'lambda-event';

export interface CloudRunEntryOptions {
  /** Handler name, used in logs and in the `Handler` dimension of HandlerErrors. */
  name: string;
  adapter: CloudRunAdapter;
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

type LambdaFn = (event: unknown, context: Context) => Promise<unknown>;

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
  return async (req) => {
    const started = Date.now();
    const run = schedulerRun(req);
    let res: HttpResponse;
    if (requireBearer && !/^Bearer\s+\S+/i.test(req.headers['authorization'] ?? '')) {
      res = errorResponse(new DomainError('unauthorized', 'missing Authorization: Bearer <OIDC token> header (Cloud Run invokers send one)'));
    } else {
      try {
        res = await inner(req);
      } catch (e) {
        res = errorResponse(e, (err) => log({ severity: 'ERROR', message: `${opts.name}: ${(err as Error)?.stack ?? String(err)}`, handler: opts.name }));
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
    };
    // The spec metric, as top-level fields the log-based metric reads (same shape as an EMF line).
    if (res.status >= 500) Object.assign(entry, { Handler: opts.name, HandlerErrors: 1 });
    log(entry);
    return res;
  };
}

/** A Lambda handler for scheduled events, served over HTTP: POST body → event, result → 200 JSON, throw → 500 (the scheduler retries). */
export function lambdaEventHandler(fn: LambdaFn, name: string): HttpHandler {
  return async (req) => {
    if (req.method !== 'POST') return methodNotAllowed(['POST'], `${req.method} is not allowed: scheduled handlers take POST`);
    let event: unknown = {};
    if (req.body && req.body.trim()) {
      try {
        event = JSON.parse(req.body);
      } catch (e) {
        throw new DomainError('bad_request', `the request body must be the JSON event: ${(e as Error).message}`);
      }
    }
    const result = await fn(fillSchedulerPlaceholders(event, req), lambdaContext(name));
    return json(200, result ?? { ok: true });
  };
}

/**
 * EventBridge Scheduler fills `<aws.scheduler.scheduled-time>`, `<aws.scheduler.schedule-arn>` and
 * `<aws.scheduler.execution-id>` in a schedule's input; the same event on Cloud Scheduler gets them from
 * the X-CloudScheduler headers (schedule time, job name), so a handler sees one event shape on both clouds
 * and can key idempotent work on the scheduled time (the same on every retry of a run). A request that did
 * not come from Cloud Scheduler (a manual run) gets the current time.
 */
export function fillSchedulerPlaceholders(event: unknown, req: HttpRequest, now: () => Date = () => new Date()): unknown {
  const run = schedulerRun(req);
  const time = run?.scheduleTime ?? now().toISOString();
  const job = run?.jobName ?? 'manual';
  const values: Record<string, string> = {
    '<aws.scheduler.scheduled-time>': time,
    '<aws.scheduler.schedule-arn>': job,
    '<aws.scheduler.execution-id>': `${job}@${time}`,
  };
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/<aws\.scheduler\.(scheduled-time|schedule-arn|execution-id)>/g, (m) => values[m]!);
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(event);
}

/** A Lambda handler for API Gateway HTTP API (payload v2) events, served over HTTP. */
export function lambdaApiGwHandler(fn: LambdaFn, name: string): HttpHandler {
  return async (req) => {
    const result = (await fn(toApiGwEvent(req), lambdaContext(name))) as APIGatewayProxyResultV2;
    return fromApiGwResult(result);
  };
}

export function toApiGwEvent(req: HttpRequest): APIGatewayProxyEventV2 {
  const rawQueryString = new URLSearchParams(req.query).toString();
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.path,
    rawQueryString,
    headers: { ...req.headers },
    queryStringParameters: Object.keys(req.query).length ? { ...req.query } : undefined,
    requestContext: {
      accountId: 'cloud-run',
      apiId: 'cloud-run',
      domainName: req.headers['host'] ?? 'localhost',
      domainPrefix: (req.headers['host'] ?? 'localhost').split('.')[0]!,
      http: { method: req.method, path: req.path, protocol: 'HTTP/1.1', sourceIp: req.headers['x-forwarded-for']?.split(',')[0]?.trim() ?? '', userAgent: req.headers['user-agent'] ?? '' },
      requestId: req.headers['x-cloud-trace-context']?.split('/')[0] ?? `${now}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: req.body,
    isBase64Encoded: false,
  };
}

export function fromApiGwResult(result: APIGatewayProxyResultV2): HttpResponse {
  // API Gateway's rule: a result that is not a `{statusCode}` object is a 200 JSON body.
  if (typeof result === 'string') return { status: 200, headers: { 'content-type': 'application/json' }, body: result };
  if (!result || typeof result !== 'object' || !('statusCode' in result) || typeof result.statusCode !== 'number') return json(200, result ?? null);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  const raw = result.body ?? '';
  const body = result.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  return { status: result.statusCode, headers, body };
}

function lambdaContext(name: string): Context {
  const deadline = Date.now() + 15 * 60_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `cloud-run:${name}`,
    memoryLimitInMB: process.env['MM_MEMORY_MB'] ?? '512',
    awsRequestId: `${Date.now()}-${Math.random().toString(36).slice(2)}`,
    logGroupName: name,
    logStreamName: process.env['K_REVISION'] ?? 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Resolve the module's export into an HttpHandler according to the adapter. */
export async function resolveHandler(mod: Record<string, unknown>, opts: CloudRunEntryOptions): Promise<HttpHandler> {
  const exportName = opts.exportName ?? 'handler';
  const fn = mod[exportName];
  if (typeof fn !== 'function') {
    throw new Error(`${opts.name}: the handler module has no function export "${exportName}" (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  }
  switch (opts.adapter) {
    case 'http': {
      // An HttpHandler takes one argument (the request); a factory takes none.
      if (fn.length >= 1) return fn as HttpHandler;
      const made: unknown = await (fn as () => unknown)();
      if (typeof made !== 'function') throw new Error(`${opts.name}: the factory "${exportName}" did not return an HttpHandler`);
      return made as HttpHandler;
    }
    case 'lambda-apigw':
      return lambdaApiGwHandler(fn as LambdaFn, opts.name);
    case 'lambda-event':
      return lambdaEventHandler(fn as LambdaFn, opts.name);
    default:
      throw new Error(`${opts.name}: unknown adapter "${String(opts.adapter)}"`);
  }
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

/** Build the entry for one handler module. The handler is resolved once, on the first request. */
export function cloudRunEntry(mod: Record<string, unknown>, opts: CloudRunEntryOptions): CloudRunEntry {
  let resolved: Promise<HttpHandler> | undefined;
  const handler = () => (resolved ??= resolveHandler(mod, opts).then((h) => cloudRunHandler(h, opts)));
  return {
    functionsFramework: functionsFrameworkAdapter(handler),
    handler,
    listen: async (port = Number(process.env['PORT'] ?? 8080), host = '0.0.0.0') => {
      const h = await handler();
      return serveHttp(h, { port, host });
    },
  };
}
