import { DomainError } from '../errors';
import { json, parseJsonBody, router, type HttpHandler, type HttpRequest, type HttpResponse, type Route } from '../http';
import { dashboardActionSchema, progressOperationSchema, type ProgressOperation } from './operations';
import { idSchema } from '../plan';
import { initializeSchema, type InitializeRequest, type MutationOptions, type Tracker } from './service';
import { authenticate, namedTokens, tokenName, type Caller, type NamedTokens } from './identity';
import { parseOrThrow } from '../validation-util';
import { childSpan } from '../tracing';
import { traceHttp } from '../tracing-http';

export interface TrackerApiOptions {
  tracker: Tracker;
  /** When set, every /api route needs `Authorization: Bearer <token>`. /health stays open for probes. */
  token?: string;
  /** Named tokens (name → token, `serve --tokens-file`): each change is recorded under the name of the token that made it. */
  tokens?: NamedTokens;
  /** Migration used when a request names none. Default "default". */
  defaultMigrationId?: string;
  /** Extra routes mounted on the same server (dashboard page, metrics, proxy...). */
  extraRoutes?: Route[];
  onServerError?: (e: unknown) => void;
}

/**
 * The tracker HTTP API. The migration is chosen, in order, by the path (`/api/migrations/{id}/...`),
 * the `X-Migration-Id` header, the `migration` query parameter, or the default.
 */
export function trackerApi(opts: TrackerApiOptions): HttpHandler {
  const { tracker } = opts;
  const fallbackId = opts.defaultMigrationId ?? 'default';
  const tokens = namedTokens(opts);
  const authed =
    (h: (req: HttpRequest, id: string, caller: Caller) => Promise<HttpResponse>) =>
    async (req: HttpRequest, params: Record<string, string>) => {
      const caller = authenticate(req, tokens);
      const id = params['id'] ?? req.headers['x-migration-id'] ?? req.query['migration'] ?? fallbackId;
      return h(req, parseOrThrow(idSchema, id, 'migration id'), caller);
    };

  const getProgress = authed(async (_r, id) => json(200, await tracker.overview(id)));
  const postProgress = authed(async (req, id, caller) => {
    const parsed = await childSpan<{ init: Omit<InitializeRequest, 'action'>; mopts: MutationOptions } | { op: ProgressOperation; mopts: MutationOptions }>(req.span, 'migration.tracker.parse', { attributes: { 'migration.id': id } }, async (span) => {
      const body = parseJsonBody(req);
      const mopts = mutationOptions(req, caller);
      if (isObject(body) && body['action'] === 'initialize') {
        const { action: _a, ...rest } = parseOrThrow(initializeSchema, body, 'initialize request');
        return { init: rest, mopts };
      }
      const op = parseOrThrow(progressOperationSchema, body, 'operation');
      span.setAttribute('migration.operation', op.action);
      return { op, mopts };
    });
    if ('init' in parsed) return mutationResponse(await tracker.initialize(id, parsed.init, parsed.mopts));
    return mutationResponse(await tracker.apply(id, parsed.op, parsed.mopts));
  });
  const getEstimate = authed(async (_r, id) => json(200, await tracker.estimate(id)));
  const getHistory = authed(async (req, id) => json(200, await tracker.history(id, req.query)));
  const getDashboard = authed(async (req, id) => {
    const limit = req.query['activity'] ? Number(req.query['activity']) : 50;
    if (!Number.isInteger(limit) || limit < 0 || limit > 1000) throw new DomainError('bad_request', 'activity must be an integer 0-1000');
    return json(200, await tracker.dashboard(id, limit));
  });
  const postDashboard = authed(async (req, id, caller) => {
    const action = parseOrThrow(dashboardActionSchema, parseJsonBody(req), 'dashboard action');
    return mutationResponse(await tracker.apply(id, action, mutationOptions(req, caller)));
  });
  const getActivity = authed(async (req, id) => {
    await tracker.get(id);
    const since = req.query['since'] ? Date.parse(req.query['since']) : undefined;
    if (since !== undefined && Number.isNaN(since)) throw new DomainError('bad_request', 'since must be an ISO date-time');
    const limit = req.query['limit'] ? Number(req.query['limit']) : 200;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new DomainError('bad_request', 'limit must be an integer 1-10000');
    const entries = await tracker.store.readActivity(id, { since, limit });
    return json(200, { migrationId: id, entries: entries.map((a) => ({ ...a, at: new Date(a.at).toISOString() })) });
  });

  const routes: Route[] = [
    { method: 'GET', path: '/health', handler: async (req) => health(tracker, req, tokens) },
    { method: 'GET', path: '/api/migrations', handler: async (req) => (checkAuth(req, tokens), json(200, { migrations: await tracker.list() })) },
    // Who the API takes the caller for: the name every change of theirs is recorded under (the dashboard shows it).
    { method: 'GET', path: '/api/whoami', handler: async (req) => json(200, authenticate(req, tokens)) },
    { method: 'GET', path: '/api/migrations/summary', handler: async (req) => (checkAuth(req, tokens), json(200, await tracker.portfolio())) },
    { method: 'GET', path: '/api/migration/progress', handler: getProgress },
    { method: 'POST', path: '/api/migration/progress', handler: postProgress },
    { method: 'GET', path: '/api/migration/estimate', handler: getEstimate },
    // Seed 003's clients ask for the completion estimate with PUT on the progress path: kept for compatibility.
    { method: 'PUT', path: '/api/migration/progress', handler: getEstimate },
    { method: 'GET', path: '/api/migration/dashboard', handler: getDashboard },
    { method: 'POST', path: '/api/migration/dashboard', handler: postDashboard },
    { method: 'GET', path: '/api/migration/activity', handler: getActivity },
    { method: 'GET', path: '/api/migration/history', handler: getHistory },
    { method: 'GET', path: '/api/migrations/:id/history', handler: getHistory },
    { method: 'GET', path: '/api/migrations/:id/progress', handler: getProgress },
    { method: 'POST', path: '/api/migrations/:id/progress', handler: postProgress },
    { method: 'GET', path: '/api/migrations/:id/estimate', handler: getEstimate },
    { method: 'PUT', path: '/api/migrations/:id/progress', handler: getEstimate },
    { method: 'GET', path: '/api/migrations/:id/dashboard', handler: getDashboard },
    { method: 'POST', path: '/api/migrations/:id/dashboard', handler: postDashboard },
    { method: 'GET', path: '/api/migrations/:id/activity', handler: getActivity },
    ...(opts.extraRoutes ?? []),
  ];
  return traceHttp(router(routes, opts.onServerError), 'tracker');
}

async function health(tracker: Tracker, req: HttpRequest, token?: NamedTokens): Promise<HttpResponse> {
  const id = req.query['migration'];
  if (id !== undefined) {
    // Per-migration detail is data: it needs the token like the rest of the API.
    checkAuth(req, token);
    parseOrThrow(idSchema, id, 'migration id');
  }
  const h = await tracker.health(id);
  const body = token && !tokenName(req, token) ? { status: h.status } : h;
  return json(h.status === 'unhealthy' ? 503 : 200, body);
}

/** The change is recorded under the authenticated name; X-Actor only as "on behalf of" beside it. */
function mutationOptions(req: HttpRequest, caller: Caller): MutationOptions {
  return { actor: caller.name, ...(caller.onBehalfOf ? { onBehalfOf: caller.onBehalfOf } : {}), idempotencyKey: req.headers['idempotency-key'], ...(req.span ? { span: req.span } : {}) };
}

function mutationResponse(r: { result: Record<string, unknown>; replayed: boolean }): HttpResponse {
  return json(200, { ok: true, ...r.result }, r.replayed ? { 'idempotent-replayed': 'true' } : {});
}

/** 401 unless the request carries the token (or one of the named tokens); nothing to check without one. */
export function checkAuth(req: HttpRequest, token: string | NamedTokens | undefined): void {
  const tokens = typeof token === 'string' ? namedTokens({ token }) : token;
  if (!tokens || !Object.keys(tokens).length) return;
  if (!req.headers['authorization']) throw new DomainError('unauthorized', 'missing Authorization: Bearer <token> header');
  if (!tokenName(req, tokens)) throw new DomainError('unauthorized', 'invalid bearer token');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
