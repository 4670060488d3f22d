import { performance } from 'node:perf_hooks';
import * as z from '../zod';
import { CircuitBreaker } from './breaker/circuit-breaker';
import { BreakerOpenError, BreakerTimeoutError, errorStatus } from './breaker/errors';
import type { BreakerOptions } from './breaker/options';
import type { BreakerState } from './breaker/state';
import type { BreakerStateStore, OperatorSwitch } from './breaker/ports';
import { BreakerRegistry } from './breaker/registry';
import { errorResponse, json, router, text, type HttpHandler, type HttpResponse, type Route } from '../http';
import type { Observation, ObservationSink } from '../metrics/observation';
import type { HealthStatus } from '../tracker/views';
import { parseOrThrow } from '../validation-util';
import { parseSearchRequest, queryFault, type SearchHit, type SearchQuery, type VectorBackend } from './query';
import { proxySettingsSchema, type BackendRole, type ProxyMode, type ProxySettings } from './settings';
import { DualWriter } from './dual-writer';
import { MemoryReplayQueueStore, ReplayQueue, type ReplayQueueStore } from './replay-queue';
import { parseDeleteRequest, parseUpsertRequest, readModeFor, stageForMode, writePlan, type ProxyStage, type StageSwitch, type VectorWriter, type WriteBatch } from './writes';
import { childSpan, tracer, type Span } from '../tracing';
import { traceHttp } from '../tracing-http';

/**
 * The search proxy: `POST /search {vector, topK, filter?}` goes to the primary vector backend through a
 * circuit breaker with a deadline; when the breaker is open or the call fails, the fallback backend (the
 * old system) answers and the response is marked degraded. Shadow mode serves one backend and sends the
 * query to the other in the background, recording overlap@k and latency.
 */

export interface SearchProxyOptions {
  primary: VectorBackend;
  fallback: VectorBackend;
  settings?: z.input<typeof proxySettingsSchema>;
  /** Breaker options beyond the settings (clock for tests, ...). */
  breaker?: Partial<Omit<BreakerOptions, 'name' | 'stateStore' | 'operatorSwitch'>>;
  stateStore?: BreakerStateStore;
  operatorSwitch?: OperatorSwitch;
  /** Metric observations by spec name (Prometheus registry, EMF). */
  metrics?: ObservationSink;
  /** Prometheus text for GET /metrics. Without it /metrics answers 404. */
  metricsText?: () => Promise<string>;
  /** Wait for the shadow call before answering (Lambda: the sandbox freezes after the response). */
  awaitShadow?: boolean;
  /**
   * Read the operator switch and shared state on the request path when they are due (Lambda: a frozen
   * sandbox runs no background work). Otherwise a call starts the read in the background.
   */
  awaitSync?: boolean;
  /** Monotonic ms for latency. */
  now?: () => number;
  /** Server faults and background problems (shadow errors, shared-state errors) for the log. */
  onError?: (context: string, error: unknown) => void;
  /** Writes (`POST /upsert`, `/delete`): both stores' writers. Without them those routes answer 404. */
  writers?: Record<BackendRole, VectorWriter>;
  /** Where writes a follower store missed are kept until replayed (default: memory, lost on restart). */
  replayQueue?: ReplayQueueStore;
  /** The operator's stage (Parameter Store, Redis, the local admin route); read every `stageRefreshMs`. */
  stageSwitch?: StageSwitch;
  /** Epoch ms (queue timestamps). */
  wallNow?: () => number;
}

export type CallOutcome = 'success' | 'failure' | 'timeout' | 'rejected' | 'client_error';

interface CallResult {
  role: BackendRole;
  outcome: CallOutcome;
  hits?: SearchHit[];
  error?: unknown;
  ms: number;
}

export interface ShadowStats {
  /** Copies answered by the shadow store and compared (overlap@k). */
  compared: number;
  /** Copies the shadow store failed (error, timeout, breaker open). */
  failed: number;
  /** Queries not copied: outside the sample (`shadowSampleRate`). */
  skipped: number;
  /** Sampled queries not copied: `shadowMaxInFlight` copies were still waiting on the shadow store. */
  busy: number;
  meanOverlap: number | null;
  lastOverlap: number | null;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * overlap@k: the share of the top k ids two result lists have in common. k is the requested topK; when both
 * lists are shorter, the longer list's length is the denominator (two empty lists agree: 1).
 */
export function overlapAtK(a: SearchHit[], b: SearchHit[], k: number): number {
  const ta = a.slice(0, k);
  const tb = new Set(b.slice(0, k).map((h) => h.id));
  const denom = Math.max(ta.length, tb.size);
  if (denom === 0) return 1;
  let common = 0;
  for (const h of ta) if (tb.has(h.id)) common++;
  return common / denom;
}

/** Requests that are wrong for the backend (not its failure): passed to the client as 400, no fallback. */
const CLIENT_ERROR_STATUSES = new Set([400, 404, 413, 422]);
export const proxyIsFailure = (e: unknown): boolean => !CLIENT_ERROR_STATUSES.has(errorStatus(e) ?? 0);

const explain = (e: unknown): string =>
  e instanceof BreakerOpenError ? e.message : e instanceof BreakerTimeoutError ? e.message : e instanceof Error ? e.message : String(e);

export class SearchProxy {
  readonly settings: ProxySettings;
  readonly registry: BreakerRegistry;
  readonly breakers: Record<BackendRole, CircuitBreaker>;
  readonly handler: HttpHandler;
  readonly routes: Route[];
  private readonly backends: Record<BackendRole, VectorBackend>;
  private readonly sink: ObservationSink | undefined;
  private readonly now: () => number;
  private readonly shadowInFlight = new Set<Promise<void>>();
  /** Breaker state changes not yet put on a call's span (tracing on only). */
  private readonly transitions: Array<{ breaker: string; attributes: Record<string, string> }> = [];
  private shadowCredit = 0;
  private readonly shadow: ShadowStats = { compared: 0, failed: 0, skipped: 0, busy: 0, meanOverlap: null, lastOverlap: null };
  /** Shadow copies under way (not probes): at most `shadowMaxInFlight`. */
  private shadowCopies = 0;
  private overlapSum = 0;
  readonly writeBreakers: Record<BackendRole, CircuitBreaker> | null = null;
  readonly writer: DualWriter | null = null;
  private readonly queue: ReplayQueue | null = null;
  private switchStage: ProxyStage | null = null;
  private stageNextAt = 0;
  private stageReading: Promise<void> | null = null;
  /** Whether the switch's stage has been read once (or its first read failed): until then requests wait for it. */
  private stageSettled = false;

  constructor(private readonly opts: SearchProxyOptions) {
    this.settings = parseOrThrow(proxySettingsSchema, opts.settings ?? {}, 'search proxy settings');
    const s = this.settings;
    this.backends = { primary: opts.primary, fallback: opts.fallback };
    this.sink = opts.metrics;
    this.now = opts.now ?? (() => performance.now());
    // A listener's bug (metrics, logs) is logged; it never changes a search's outcome nor silences the others.
    const onListenerError = (e: unknown, event: string) => this.opts.onError?.(`breaker listener (${event})`, e);
    this.registry = new BreakerRegistry({ onListenerError });
    const make = (role: string) => {
      const b = new CircuitBreaker({
        consecutiveFailures: s.consecutiveFailures,
        errorThresholdPercent: s.errorThresholdPercent,
        minimumRequests: s.minimumRequests,
        rollingWindowMs: s.rollingWindowMs,
        rollingBuckets: 10,
        resetTimeoutMs: s.resetTimeoutMs,
        halfOpenMaxCalls: s.halfOpenMaxCalls,
        successThreshold: s.successThreshold,
        isFailure: proxyIsFailure,
        onListenerError,
        ...opts.breaker,
        // Timeouts are given per call (from the remaining budget).
        timeoutMs: false,
        name: `${s.breakerPrefix}-${role}`,
        stateStore: opts.stateStore,
        operatorSwitch: opts.operatorSwitch,
      });
      this.registry.register(b);
      b.on('sync-error', (e) => this.opts.onError?.(`breaker ${e.breaker}: ${e.source}`, e.error));
      b.on('reject', (e) => this.record('BreakerRejections', { Breaker: e.breaker }, 1, 'add'));
      b.on('predicate-error', (e) => this.opts.onError?.(`breaker ${e.breaker}: failure predicate`, e.error));
      return b;
    };
    this.breakers = { primary: make('primary'), fallback: make('fallback') };
    if (opts.writers) {
      // The writes' own breakers: a follower store failing its writes never opens the search breakers, and back.
      this.writeBreakers = { primary: make('write-primary'), fallback: make('write-fallback') };
      this.queue = new ReplayQueue(opts.replayQueue ?? new MemoryReplayQueueStore(), s.maxReplayQueue, { refreshMs: s.queueRefreshMs, now: this.now });
      this.writer = new DualWriter({
        writers: opts.writers,
        breakers: this.writeBreakers,
        queue: this.queue,
        settings: s,
        tenant: s.breakerPrefix,
        record: (m, l, v, mode) => this.record(m, l, v, mode),
        now: this.now,
        wallNow: opts.wallNow ?? Date.now,
        onError: opts.onError,
      });
    }
    const searchBreakers = new Set(Object.values(this.breakers).map((b) => b.name));
    this.registry.onTransition((t) => {
      // A search breaker's change goes, as an event, on the span of the call that sees it (call() below).
      if (tracer().enabled && searchBreakers.has(t.breaker)) {
        this.transitions.push({ breaker: t.breaker, attributes: { 'migration.breaker': t.breaker, 'migration.breaker.from': t.from, 'migration.breaker.to': t.to, 'migration.breaker.reason': t.reason } });
        if (this.transitions.length > 32) this.transitions.shift();
      }
      this.record('BreakerTransitions', { Breaker: t.breaker, ToState: t.to }, 1, 'add');
      this.record('BreakerState', { Breaker: t.breaker }, STATE_VALUE[t.to], 'set');
    });

    this.routes = [
      { method: 'POST', path: '/search', handler: async (req) => this.search(parseSearchRequest(req), req.span) },
      { method: 'GET', path: '/health', handler: async () => this.health() },
      ...(this.writer
        ? [
            { method: 'POST' as const, path: '/upsert', handler: async (req: Parameters<Route['handler']>[0]) => this.write(parseUpsertRequest(req)) },
            { method: 'POST' as const, path: '/delete', handler: async (req: Parameters<Route['handler']>[0]) => this.write(parseDeleteRequest(req)) },
            { method: 'GET' as const, path: '/reconcile', handler: async () => this.reconcile() },
          ]
        : []),
      { method: 'GET', path: '/metrics', handler: async () => this.metrics() },
    ];
    this.handler = traceHttp(router(this.routes, (e) => this.opts.onError?.('request', e)), 'search-proxy');
  }

  private record(metric: Observation['metric'], labels: Observation['labels'], value: number, mode: Observation['mode']): void {
    this.sink?.record({ metric, labels, value, mode });
  }

  /**
   * Current breaker states as gauges. /metrics records them at each scrape; the Lambda entry after every
   * invocation, so the breaker-open alarm sees a datapoint in every minute with traffic.
   */
  recordStates(): void {
    if (this.writer) this.record('SyncLag', { TenantId: this.settings.breakerPrefix }, this.writer.stats().syncLag, 'set');
    for (const b of [...Object.values(this.breakers), ...Object.values(this.writeBreakers ?? {})]) this.record('BreakerState', { Breaker: b.name }, STATE_VALUE[b.state], 'set');
  }

  /**
   * One backend call through its breaker, in a client span (child of the search's `parent`): the breaker's
   * decision, the state changes it saw (events), the outcome, the error.
   */
  private call(parent: Span, role: BackendRole, query: SearchQuery, timeoutMs: number, purpose: 'serve' | 'fallback' | 'shadow' | 'probe' = 'serve'): Promise<CallResult> {
    return childSpan(parent, `migration.search.${purpose === 'serve' ? 'backend' : purpose}`, { kind: 'client', attributes: { 'migration.backend': role, 'migration.breaker.state': this.breakers[role].state, 'migration.search.timeout_ms': timeoutMs } }, async (span) => {
      const r = await this.callBackend(role, query, timeoutMs);
      const name = this.breakers[role].name;
      for (let i = 0; i < this.transitions.length; ) {
        if (this.transitions[i]!.breaker === name) span.addEvent('breaker.state_change', this.transitions.splice(i, 1)[0]!.attributes);
        else i++;
      }
      span.setAttributes({ 'migration.outcome': r.outcome, 'migration.search.duration_ms': r.ms });
      if (r.outcome !== 'success') span.recordException(r.error);
      return r;
    });
  }

  private async callBackend(role: BackendRole, query: SearchQuery, timeoutMs: number): Promise<CallResult> {
    const t0 = this.now();
    const backend = this.backends[role];
    let result: CallResult;
    try {
      const hits = await this.breakers[role].execute((ctx) => backend.search(query, ctx.signal), { timeoutMs });
      result = { role, outcome: 'success', hits, ms: this.now() - t0 };
    } catch (error) {
      const outcome: CallOutcome =
        error instanceof BreakerOpenError ? 'rejected' : error instanceof BreakerTimeoutError ? 'timeout' : proxyIsFailure(error) ? 'failure' : 'client_error';
      result = { role, outcome, error, ms: this.now() - t0 };
    }
    this.record('ProxyRequests', { Backend: role, Outcome: result.outcome }, 1, 'add');
    if (result.outcome !== 'rejected') this.record('ProxyLatency', { Backend: role }, result.ms, 'observe');
    return result;
  }

  /**
   * Answer a schema-valid query (the filter is checked here, so direct callers get the same 4xx). `parent`: the
   * request's span (undefined: the active span, if any).
   */
  search(query: SearchQuery, parent?: Span): Promise<HttpResponse> {
    return childSpan(parent, 'migration.search', { attributes: { 'migration.search.mode': this.settings.mode, 'migration.search.top_k': query.topK } }, async (span) => {
      const res = await this.answer(query, span);
      span.setAttributes({ 'migration.backend': res.headers['x-search-backend'], 'migration.search.degraded': res.headers['x-search-degraded'], 'http.response.status_code': res.status });
      if (res.status >= 500) span.setStatus('error', 'no vector backend could answer');
      return res;
    });
  }

  private async answer(query: SearchQuery, span: Span): Promise<HttpResponse> {
    const fault = queryFault(query);
    if (fault) return errorResponse(fault);
    const started = this.now();
    await this.stageDue();
    if (this.opts.awaitSync) await Promise.all([this.breakers.primary.syncIfStale(), this.breakers.fallback.syncIfStale()]);
    const s = this.settings;
    const remaining = () => Math.floor(s.deadlineMs - (this.now() - started));
    const { serving: serveFirst, backup } = this.roles();

    // With a backup the first store gets its share of the budget (primaryTimeoutMs), the backup the rest.
    const first = await this.call(span, serveFirst, query, Math.max(1, Math.min(backup ? s.primaryTimeoutMs : s.deadlineMs, remaining())));
    let served: CallResult | null = first.outcome === 'success' ? first : null;
    let second: CallResult | null = null;
    if (!served && first.outcome === 'client_error') return this.clientError(first);
    if (!served && backup) {
      const left = remaining();
      span.addEvent('fallback', { 'migration.backend': backup, 'migration.search.first_outcome': first.outcome });
      second = left >= 1 ? await this.call(span, backup, query, left, 'fallback') : { role: backup, outcome: 'timeout', error: new Error('no time left before the deadline'), ms: 0 };
      if (second.outcome === 'success') {
        served = second;
        this.record('ProxyFallbacks', {}, 1, 'add');
      } else if (second.outcome === 'client_error') return this.clientError(second);
    }
    if (!served) return this.unavailable([first, ...(second ? [second] : [])]);

    const copied = this.readMode() === 'shadow' && served === first && this.startShadow(span, served, query);
    if (backup && served === first && !copied) this.probeIfDue(span, backup, query);
    if (this.opts.awaitShadow) await this.drain();
    await Promise.all([this.breakers.primary.flush(), this.breakers.fallback.flush()]);

    const degraded = served !== first;
    const reason = degraded ? degradedReason(first) : undefined;
    const headers: Record<string, string> = { 'x-search-backend': served.role, 'x-search-degraded': String(degraded) };
    if (reason) headers['x-search-degraded-reason'] = reason;
    return json(
      200,
      {
        results: served.hits,
        servedBy: served.role,
        degraded,
        ...(reason ? { degradedReason: reason } : {}),
        mode: this.readMode(),
        stage: this.stage(),
        tookMs: Math.round((this.now() - started) * 100) / 100,
      },
      headers,
    );
  }

  private clientError(r: CallResult): HttpResponse {
    return json(400, { error: { code: 'backend_rejected_request', message: `the ${r.role} backend rejected the request: ${explain(r.error)}`, details: { backend: r.role, status: errorStatus(r.error) } } });
  }

  private unavailable(results: CallResult[]): HttpResponse {
    const reasons = Object.fromEntries(results.map((r) => [r.role, { outcome: r.outcome, message: explain(r.error) }]));
    const message = results.map((r) => `${r.role}: ${explain(r.error)}`).join('; ');
    const retry = results.map((r) => (r.error instanceof BreakerOpenError ? r.error.retryAfterMs : null)).filter((x): x is number => x !== null);
    const headers: Record<string, string> = { 'x-search-degraded': 'true' };
    if (retry.length) headers['retry-after'] = String(Math.max(1, Math.ceil(Math.min(...retry) / 1000)));
    return json(503, { error: { code: 'backends_unavailable', message: `no vector backend could answer: ${message}`, details: reasons } }, headers);
  }

  /** The stage in force: the operator switch's, else the settings' stage, else the one the read mode implies. */
  stage(): ProxyStage {
    return this.switchStage ?? this.settings.stage ?? stageForMode(this.settings.mode);
  }

  /** How searches are served: by the stage when one is set (switch or settings), else the `mode` setting. */
  readMode(): ProxyMode {
    const stage = this.switchStage ?? this.settings.stage;
    return stage ? readModeFor(stage) : this.settings.mode;
  }

  /** Read the operator switch's stage (`force`: now). Never rejects: a failed read keeps the last stage. */
  refreshStage(force = false): Promise<void> {
    const sw = this.opts.stageSwitch;
    if (!sw) return Promise.resolve();
    if (force && this.stageReading) return this.stageReading.then(() => this.refreshStage(true));
    if (!force && (this.stageReading || this.now() < this.stageNextAt)) return this.stageReading ?? Promise.resolve();
    this.stageNextAt = this.now() + this.settings.stageRefreshMs;
    this.stageReading = sw
      .stage()
      .then((st) => {
        this.switchStage = st;
      })
      .catch((e) => this.opts.onError?.(`stage switch (${sw.kind})`, e))
      .finally(() => {
        this.stageReading = null;
        this.stageSettled = true;
      });
    return this.stageReading;
  }

  private async stageDue(): Promise<void> {
    const p = this.refreshStage();
    // The first request of a process (a Lambda cold start) waits for the switch: answering it from the
    // deployment's default stage would send a write to the store the operator moved away from.
    if (this.opts.awaitSync || !this.stageSettled) await p;
  }

  /** Load the replay queue a previous process left and start replaying in the background (not on Lambda). */
  async startWrites(opts: { background?: boolean } = {}): Promise<void> {
    await this.refreshStage(true);
    if (!this.queue || !this.writer) return;
    await this.queue.load();
    if (opts.background !== false) this.writer.start();
  }

  private async write(batch: WriteBatch): Promise<HttpResponse> {
    await this.stageDue();
    if (this.opts.awaitSync) await Promise.all(Object.values(this.writeBreakers!).map((b) => b.syncIfStale()));
    const r = await this.writer!.write(batch, this.stage());
    await Promise.all(Object.values(this.writeBreakers!).map((b) => b.flush()));
    return r;
  }

  private reconcile(): HttpResponse {
    const w = this.writer!;
    const pending = w.pending(1000);
    return json(200, {
      stage: this.stage(),
      syncLag: w.stats().syncLag,
      // acknowledged by one store and not (yet) in the other: what replay will write, per store that lacks it
      missingFrom: pending,
      truncated: pending.primary.length >= 1000 || pending.fallback.length >= 1000,
    });
  }

  /** Which store answers first, and which one answers when it cannot (none in fallback-only mode). */
  private roles(): { serving: BackendRole; backup: BackendRole | null } {
    const s = this.settings;
    const mode = this.readMode();
    if (mode === 'fallback-only') return { serving: 'fallback', backup: null };
    if (mode === 'shadow' && s.shadowServe === 'fallback') return { serving: 'fallback', backup: 'primary' };
    return { serving: 'primary', backup: 'fallback' };
  }

  /**
   * A backup store gets calls only when the serving one fails, so its breaker would stay open for good once
   * the serving store is healthy again (and the breaker-open alarm with it). When its recovery time has
   * passed, the query just answered goes to it in the background as the half-open probe.
   */
  private probeIfDue(span: Span, role: BackendRole, query: SearchQuery): void {
    if (!this.breakers[role].probeDue()) return;
    this.track(this.call(span, role, query, this.settings.deadlineMs, 'probe').then(() => undefined));
  }

  private track(p: Promise<void>): void {
    const tracked = p.finally(() => this.shadowInFlight.delete(tracked));
    this.shadowInFlight.add(tracked);
  }

  /** Send a sampled copy to the other store; false when this request was not sampled. */
  private startShadow(span: Span, served: CallResult, query: SearchQuery): boolean {
    this.shadowCredit += this.settings.shadowSampleRate;
    if (this.shadowCredit < 1) {
      this.shadow.skipped++;
      return false;
    }
    this.shadowCredit -= 1;
    if (this.shadowCopies >= this.settings.shadowMaxInFlight) {
      this.shadow.busy++;
      return false;
    }
    this.shadowCopies++;
    const other: BackendRole = served.role === 'primary' ? 'fallback' : 'primary';
    const p = this.call(span, other, query, this.settings.deadlineMs, 'shadow').finally(() => this.shadowCopies--).then((r) => {
      if (r.outcome !== 'success') {
        this.shadow.failed++;
        return;
      }
      const overlap = overlapAtK(served.hits!, r.hits!, query.topK);
      this.shadow.compared++;
      this.shadow.lastOverlap = overlap;
      this.overlapSum += overlap;
      this.shadow.meanOverlap = this.overlapSum / this.shadow.compared;
      this.record('ShadowOverlap', {}, overlap * 100, 'set');
    });
    this.track(p);
    return true;
  }

  /** Resolves when every background call (shadow copies, backup probes) started so far has finished (tests, shutdown, Lambda). */
  async drain(): Promise<void> {
    while (this.shadowInFlight.size) await Promise.all([...this.shadowInFlight]);
  }

  /** Stop replaying and close the replay queue (shutdown). */
  async close(): Promise<void> {
    await this.drain();
    await this.writer?.stop();
    await this.queue?.close();
  }

  shadowStats(): ShadowStats {
    return { ...this.shadow };
  }

  /**
   * The tracker's vocabulary, so one probe config reads both: healthy (every breaker the mode uses is
   * closed), degraded (one is not: the serving store is failing, or its backup could not take over; the
   * breaker-open alarm says the same), unhealthy (no store can serve: 503).
   */
  health(): HttpResponse {
    const p = this.breakers.primary.stats();
    const f = this.breakers.fallback.stats();
    const { serving, backup } = this.roles();
    const used = [serving, ...(backup ? [backup] : [])].map((r) => (r === 'primary' ? p : f));
    // The write breakers the stage uses count too: the breaker-open alarm reads them as well.
    const wb = this.writeBreakers;
    const plan = writePlan(this.stage());
    const writesUsed = wb ? [plan.ack, ...(plan.follower ? [plan.follower] : [])].map((r) => wb[r].stats()) : [];
    const status: HealthStatus = used.every((b) => b.state === 'open')
      ? 'unhealthy'
      : [...used, ...writesUsed].some((b) => b.state !== 'closed')
        ? 'degraded'
        : 'healthy';
    const view = (b: typeof p) => ({
      name: b.name,
      state: b.state,
      forced: b.forced,
      // Infinity (held open by the operator) is not JSON: say who holds it.
      nextAttemptAt: b.nextAttemptAt === null ? null : Number.isFinite(b.nextAttemptAt) ? new Date(b.nextAttemptAt).toISOString() : 'operator',
      counts: b.counts,
      window: b.strategy,
    });
    const mode = this.readMode();
    return json(status === 'unhealthy' ? 503 : 200, {
      status,
      mode,
      stage: this.stage(),
      breakers: { primary: view(p), fallback: view(f) },
      ...(mode === 'shadow' ? { shadow: this.shadowStats() } : {}),
      ...(this.writer && this.writeBreakers
        ? { writes: { ...this.writer.stats(), breakers: { primary: view(this.writeBreakers.primary.stats()), fallback: view(this.writeBreakers.fallback.stats()) } } }
        : {}),
    });
  }

  private async metrics(): Promise<HttpResponse> {
    if (!this.opts.metricsText) return json(404, { error: { code: 'not_found', message: 'metrics are not exported by this deployment (they go to CloudWatch as EMF)' } });
    this.recordStates();
    return text(200, await this.opts.metricsText(), 'text/plain; version=0.0.4; charset=utf-8');
  }
}

function degradedReason(r: CallResult): string {
  if (r.error instanceof BreakerOpenError) return r.error.reason === 'operator' ? 'operator_switch' : 'breaker_open';
  return r.outcome === 'timeout' ? 'timeout' : 'error';
}

export function searchProxy(opts: SearchProxyOptions): SearchProxy {
  return new SearchProxy(opts);
}
