import { timingSafeEqual } from 'node:crypto';
import { DomainError } from '../errors';
import { json, parseJsonBody, router, type HttpHandler, type HttpRequest, type HttpResponse, type Route } from '../http';
import { dashboardActionSchema, progressOperationSchema } from './operations';
import { idSchema } from '../plan';
import { initializeSchema, type Tracker } from './service';
import { parseOrThrow } from '../validation-util';

export interface TrackerApiOptions {
  tracker: Tracker;
  /** When set, every /api route needs `Authorization: Bearer <token>`. /health stays open for probes. */
  token?: string;
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
  const authed =
    (h: (req: HttpRequest, id: string) => Promise<HttpResponse>) =>
    async (req: HttpRequest, params: Record<string, string>) => {
      checkAuth(req, opts.token);
      const id = params['id'] ?? req.headers['x-migration-id'] ?? req.query['migration'] ?? fallbackId;
      return h(req, parseOrThrow(idSchema, id, 'migration id'));
    };

  const getProgress = authed(async (_r, id) => json(200, await tracker.overview(id)));
  const postProgress = authed(async (req, id) => {
    const body = parseJsonBody(req);
    const mopts = mutationOptions(req);
    if (isObject(body) && body['action'] === 'initialize') {
      const init = parseOrThrow(initializeSchema, body, 'initialize request');
      const { action: _a, ...rest } = init;
      return mutationResponse(await tracker.initialize(id, rest, mopts));
    }
    const op = parseOrThrow(progressOperationSchema, body, 'operation');
    return mutationResponse(await tracker.apply(id, op, mopts));
  });
  const getEstimate = authed(async (_r, id) => json(200, await tracker.estimate(id)));
  const getHistory = authed(async (req, id) => json(200, await tracker.history(id, req.query)));
  const getDashboard = authed(async (req, id) => {
    const limit = req.query['activity'] ? Number(req.query['activity']) : 50;
    if (!Number.isInteger(limit) || limit < 0 || limit > 1000) throw new DomainError('bad_request', 'activity must be an integer 0-1000');
    return json(200, await tracker.dashboard(id, limit));
  });
  const postDashboard = authed(async (req, id) => {
    const action = parseOrThrow(dashboardActionSchema, parseJsonBody(req), 'dashboard action');
    return mutationResponse(await tracker.apply(id, action, mutationOptions(req)));
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
    { method: 'GET', path: '/health', handler: async (req) => health(tracker, req, opts.token) },
    { method: 'GET', path: '/api/migrations', handler: async (req) => (checkAuth(req, opts.token), json(200, { migrations: await tracker.list() })) },
    { method: 'GET', path: '/api/migrations/summary', handler: async (req) => (checkAuth(req, opts.token), json(200, await tracker.portfolio())) },
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
  return router(routes, opts.onServerError);
}

async function health(tracker: Tracker, req: HttpRequest, token?: string): Promise<HttpResponse> {
  const id = req.query['migration'];
  if (id !== undefined) {
    // Per-migration detail is data: it needs the token like the rest of the API.
    checkAuth(req, token);
    parseOrThrow(idSchema, id, 'migration id');
  }
  const h = await tracker.health(id);
  const body = token && !hasValidToken(req, token) ? { status: h.status } : h;
  return json(h.status === 'unhealthy' ? 503 : 200, body);
}

function mutationOptions(req: HttpRequest) {
  const actor = req.headers['x-actor'];
  if (actor !== undefined && (actor.length === 0 || actor.length > 100)) throw new DomainError('bad_request', 'X-Actor must be 1-100 characters');
  return { actor: actor ?? 'api', idempotencyKey: req.headers['idempotency-key'] };
}

function mutationResponse(r: { result: Record<string, unknown>; replayed: boolean }): HttpResponse {
  return json(200, { ok: true, ...r.result }, r.replayed ? { 'idempotent-replayed': 'true' } : {});
}

export function checkAuth(req: HttpRequest, token: string | undefined): void {
  if (!token) return;
  if (!req.headers['authorization']) throw new DomainError('unauthorized', 'missing Authorization: Bearer <token> header');
  if (!hasValidToken(req, token)) throw new DomainError('unauthorized', 'invalid bearer token');
}

function hasValidToken(req: HttpRequest, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers['authorization'] ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!.trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
