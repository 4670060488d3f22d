import { randomUUID } from 'node:crypto';
import type { DashboardAction, ProgressOperation } from '../../core/tracker/operations';
import type { PhaseDefInput } from '../../core/plan';
import { parseRetryAfter, retry, type AttemptOutcome } from '../../core/retry';
import { withSpan } from '../../core/tracing';

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string | Uint8Array; signal?: AbortSignal }) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface TrackerClientOptions {
  /** Base URL of the tracker API, e.g. http://127.0.0.1:8080 or a function URL. */
  url: string;
  /** Bearer token (local mode / self-hosted). Not used with IAM (SigV4) auth. */
  token?: string;
  /** Migration id; omitted → the server's default. */
  migrationId?: string;
  /** Recorded as the actor of every change (X-Actor). */
  actor?: string;
  /** Replace fetch, e.g. with a SigV4-signing fetch for IAM-protected APIs. */
  fetch?: FetchLike;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  /**
   * Retries for network errors, 429 and 5xx on idempotent sends (mutations always carry an Idempotency-Key), with
   * full jitter from 200 ms and the server's Retry-After as a floor. Default 2.
   */
  retries?: number;
  /** No retry starts later than this after the first attempt (ms); a Retry-After beyond it ends retrying. Default 30 s. */
  retryBudgetMs?: number;
}

/** An HTTP error from the tracker API, with the server's code and message. */
export class TrackerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrackerApiError';
  }
}

/**
 * Client for the tracker HTTP API: the single integration point for scripts, CLIs, the log watcher and jobs.
 * Every mutation carries an Idempotency-Key (generated unless given), so retries never apply twice.
 */
export class TrackerClient {
  private readonly base: string;
  private readonly fetchImpl: FetchLike;
  constructor(private readonly opts: TrackerClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? (globalThis.fetch as unknown as FetchLike);
  }

  overview<T = Record<string, unknown>>(): Promise<T> {
    return this.request<T>('GET', '/api/migration/progress');
  }
  dashboard<T = Record<string, unknown>>(activity = 50): Promise<T> {
    return this.request<T>('GET', `/api/migration/dashboard?activity=${activity}`);
  }
  estimate<T = Record<string, unknown>>(): Promise<T> {
    return this.request<T>('GET', '/api/migration/estimate');
  }
  activity<T = { entries: Array<Record<string, unknown>> }>(q: { since?: Date; limit?: number } = {}): Promise<T> {
    const p = new URLSearchParams();
    if (q.since) p.set('since', q.since.toISOString());
    if (q.limit) p.set('limit', String(q.limit));
    const qs = p.toString();
    return this.request<T>('GET', `/api/migration/activity${qs ? `?${qs}` : ''}`);
  }
  /** The migration's history; null from a tracker that predates it (404 on the route). */
  historyOrNull<T = { points: Array<Record<string, unknown>> }>(q: { from?: Date; to?: Date; step?: string } = {}): Promise<T | null> {
    return this.history<T>(q).catch((e: unknown) => {
      if (e instanceof TrackerApiError && e.status === 404 && /no route/.test(e.message)) return null;
      throw e;
    });
  }
  history<T = { points: Array<Record<string, unknown>> }>(q: { from?: Date; to?: Date; step?: string } = {}): Promise<T> {
    const p = new URLSearchParams();
    if (q.from) p.set('from', q.from.toISOString());
    if (q.to) p.set('to', q.to.toISOString());
    if (q.step) p.set('step', q.step);
    const qs = p.toString();
    return this.request<T>('GET', `/api/migration/history${qs ? `?${qs}` : ''}`);
  }
  health<T = { status: string }>(): Promise<T> {
    return this.request<T>('GET', '/health', undefined, undefined, [200, 503]);
  }
  list(): Promise<{ migrations: string[] }> {
    return this.request('GET', '/api/migrations');
  }
  initialize(req: { name?: string; plan?: PhaseDefInput[]; reset?: boolean } = {}, idempotencyKey?: string): Promise<Record<string, unknown>> {
    return this.request('POST', '/api/migration/progress', { action: 'initialize', ...req }, idempotencyKey ?? randomUUID());
  }
  send(op: ProgressOperation, idempotencyKey?: string): Promise<Record<string, unknown>> {
    return this.request('POST', '/api/migration/progress', op, idempotencyKey ?? randomUUID());
  }
  dashboardAction(action: DashboardAction, idempotencyKey?: string): Promise<Record<string, unknown>> {
    return this.request('POST', '/api/migration/dashboard', action, idempotencyKey ?? randomUUID());
  }

  private async request<T>(method: string, path: string, body?: unknown, idempotencyKey?: string, okStatuses = [200]): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.token) headers['authorization'] = `Bearer ${this.opts.token}`;
    if (this.opts.migrationId) headers['x-migration-id'] = this.opts.migrationId;
    if (this.opts.actor) headers['x-actor'] = this.opts.actor;
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return withSpan(method, { kind: 'client', attributes: { 'http.request.method': method, 'url.full': this.base + path, 'migration.operation': (body as { action?: string } | undefined)?.action } }, (span) => {
      const traceparent = span.traceparent();
      if (traceparent) headers['traceparent'] = traceparent;
      return this.exchange<T>(method, path, headers, payload, idempotencyKey, okStatuses, (status) => span.setAttribute('http.response.status_code', status));
    });
  }

  private exchange<T>(method: string, path: string, headers: Record<string, string>, payload: string | undefined, idempotencyKey: string | undefined, okStatuses: number[], onStatus: (status: number) => void): Promise<T> {
    const retries = method === 'GET' || idempotencyKey ? (this.opts.retries ?? 2) : 0;
    const once = async (): Promise<AttemptOutcome<T>> => {
      let res: Awaited<ReturnType<FetchLike>>;
      try {
        res = await this.fetchImpl(this.base + path, { method, headers, body: payload, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
      } catch (e) {
        return { retry: new Error(`cannot reach the tracker API at ${this.base}: ${(e as Error).message}`) };
      }
      onStatus(res.status);
      const textBody = await res.text();
      let parsed: unknown;
      try {
        parsed = textBody ? JSON.parse(textBody) : {};
      } catch {
        parsed = { error: { code: 'bad_response', message: textBody.slice(0, 200) } };
      }
      if (okStatuses.includes(res.status)) return { done: parsed as T };
      const err = (parsed as { error?: { code?: string; message?: string } }).error;
      const apiErr = new TrackerApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
      // 429: throttled (API Gateway answers so when the tracker is busiest); 5xx: a server fault, maybe passing.
      if (res.status === 429 || res.status >= 500) return { retry: apiErr, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
      throw apiErr;
    };
    return retry(once, { maxAttempts: retries + 1, baseDelayMs: 200, maxDelayMs: 5000, maxTotalMs: this.opts.retryBudgetMs ?? 30_000 });
  }
}
