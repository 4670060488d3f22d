import { createHash } from 'node:crypto';
import * as z from '../zod';
import { systemClock, type Clock } from '../clock';
import { DomainError, isDomainError, type ErrorCode } from '../errors';
import { emptyMetrics, type ActivityEntry, type MigrationState, type NotificationState, type PhaseState } from '../model';
import { applyOperation, isOverdue, type ApplyResult, type Operation } from './operations';
import { DEFAULT_PLAN, idSchema, validatePlan, type PhaseDef } from '../plan';
import type { IdempotencyRecord, ProgressStore } from '../store';
import { childSpan, type Span } from '../tracing';
import { tracedStore, storeIn } from '../tracing-store';
import { parseOrThrow } from '../validation-util';
import { bucketOf, HISTORY_TIERS, historyAnswer, historyPointOf, historyRange, historyWrites, isStateChange, selectHistory, type HistoryPoint } from '../history';
import { dashboardOf, DEFAULT_THRESHOLDS, estimateOf, healthOf, overviewOf, portfolioRowOf, type HealthStatus, type HealthThresholds } from './views';

export const initializeSchema = z.strictObject({
  action: z.literal('initialize'),
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  plan: z.optional(z.array(z.unknown())),
  /** Replace a migration that has already started. Without it, re-initializing a started migration is refused. */
  reset: z.optional(z.boolean()),
});
export type InitializeRequest = z.output<typeof initializeSchema>;


/** What changed, for metric sinks and notifiers (EMF on AWS, Prometheus, alert fan-out). */
export interface TrackerChange {
  migrationId: string;
  action: string;
  actor: string;
  before: MigrationState | null;
  after: MigrationState;
  activity: ActivityEntry[];
  /** When the change was committed (the tracker's clock). */
  at: number;
}
export type TrackerListener = (change: TrackerChange) => void | Promise<void>;

/**
 * Work derived from every change, done on the new document before it commits (in the same write): the alert
 * router queues its notices here, so a notice exists exactly when the alert that caused it does.
 */
export type TrackerDerivation = (before: MigrationState | null, after: MigrationState, now: number, activity: ActivityEntry[]) => void;

export interface TrackerOptions {
  store: ProgressStore;
  clock?: Clock;
  thresholds?: Partial<HealthThresholds>;
  /** Compare-and-set retries before giving up with a 503. Default 50. */
  maxRetries?: number;
  listeners?: TrackerListener[];
  /** Keep the migration's history (lib/core/history.ts). Default true; the benchmark turns it off to measure its cost. */
  history?: boolean;
  /** A history write failed (the change itself is committed): default logs it to stderr. */
  onHistoryError?: (e: unknown, migrationId: string) => void;
}

export interface MutationOptions {
  /** The authenticated author of the change. */
  actor?: string;
  /** Whom the author says they act for (X-Actor): recorded beside the actor, never as it. */
  onBehalfOf?: string;
  idempotencyKey?: string;
  /** The caller's span (the request's server span): the change's spans are its children (lib/core/tracing.ts). */
  span?: Span;
}

export interface MutationResult {
  result: Record<string, unknown>;
  /** True when the answer is the stored result of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}


/**
 * The progress tracker: every mutation is read → apply (pure, on a copy) → compare-and-set commit, retried
 * on conflict, serialized per migration inside one process so a busy process does not fight itself.
 */
export class Tracker {
  readonly store: ProgressStore;
  readonly clock: Clock;
  readonly thresholds: HealthThresholds;
  private readonly maxRetries: number;
  private readonly listeners: TrackerListener[];
  private readonly derivations: TrackerDerivation[] = [];
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Per migration, the finest history bucket written by this process (at most one write per bucket, plus state changes). */
  private readonly historyBucket = new Map<string, number>();
  private readonly historyPending = new Map<string, TrackerChange>();
  private readonly onHistoryError: (e: unknown, migrationId: string) => void;
  private readonly keepHistory: boolean;
  /** The store without spans: a change hands its own span to a traced view of it (storeIn). */
  private readonly untraced: ProgressStore;

  constructor(opts: TrackerOptions) {
    this.untraced = opts.store;
    this.store = tracedStore(opts.store);
    this.clock = opts.clock ?? systemClock;
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
    this.maxRetries = opts.maxRetries ?? 50;
    this.listeners = [...(opts.listeners ?? [])];
    this.keepHistory = opts.history ?? true;
    this.onHistoryError = opts.onHistoryError ?? ((e, id) => console.error(`history of migration "${id}" not recorded: ${(e as Error).message}`));
  }

  addListener(l: TrackerListener): void {
    this.listeners.push(l);
  }

  addDerivation(d: TrackerDerivation): void {
    this.derivations.push(d);
  }

  /**
   * A change computed by another part of the core (alert delivery bookkeeping), not by a client: the same
   * compare-and-set commit, derivations and listeners as `apply`, but never reachable over HTTP.
   */
  async change(
    migrationId: string,
    action: string,
    fn: (s: MigrationState, now: number) => { activity: Array<Omit<ActivityEntry, 'at' | 'actor'>>; result?: Record<string, unknown> },
    actor: string,
  ): Promise<Record<string, unknown>> {
    const r = await this.mutate(undefined, migrationId, action, () => '', {}, (cur) => {
      if (!cur) throw unknownMigration(migrationId);
      const state = cloneState(cur);
      const now = this.clock.now();
      const out = fn(state, now);
      return { state, activity: out.activity.map((a) => ({ at: now, actor, ...a })), result: out.result ?? {} };
    });
    return r.result;
  }

  /** Create (or, before it started or with `reset`, replace) a migration. */
  async initialize(migrationId: string, req: Omit<InitializeRequest, 'action'>, opts: MutationOptions = {}): Promise<MutationResult> {
    parseOrThrow(idSchema, migrationId, 'migration id');
    const plan = req.plan === undefined ? DEFAULT_PLAN : validatePlan(req.plan);
    return childSpan(opts.span, 'migration.tracker.apply', { attributes: { 'migration.id': migrationId, 'migration.operation': 'initialize' } }, (span) => this.mutate(span, migrationId, 'initialize', () => requestHash({ action: 'initialize', ...req }), opts, (cur) => {
      if (cur && !req.reset && cur.phases.some((p) => p.status !== 'pending')) {
        throw new DomainError(
          'conflict',
          `migration "${migrationId}" has already started; pass "reset": true to replace it (its activity log is kept)`,
        );
      }
      const now = this.clock.now();
      const state = newMigration(migrationId, req.name ?? cur?.name ?? migrationId, plan, now);
      const activity: ActivityEntry[] = [
        {
          at: now,
          actor: opts.actor ?? 'api',
          ...(opts.onBehalfOf ? { onBehalfOf: opts.onBehalfOf } : {}),
          action: cur ? 'migration.reinitialize' : 'migration.initialize',
          message: `Migration "${state.name}" ${cur ? 're-initialized' : 'initialized'} with ${plan.length} phases: ${plan.map((p) => p.id).join(', ')}`,
        },
      ];
      return { state, activity, result: { migrationId, phases: plan.map((p) => p.id), created: !cur } };
    }, true));
  }

  /** Apply a phase / sub-task / alert / metrics operation or a dashboard action. */
  async apply(migrationId: string, op: Operation, opts: MutationOptions = {}): Promise<MutationResult> {
    const actor = opts.actor ?? 'api';
    const target = op as { phaseId?: string; subTaskId?: string };
    const attributes = { 'migration.id': migrationId, 'migration.operation': op.action, 'migration.phase': target.phaseId, 'migration.subtask': target.subTaskId };
    return childSpan(opts.span, 'migration.tracker.apply', { attributes }, (span) => this.mutate(span, migrationId, op.action, () => requestHash(op), opts, (cur) => {
      if (!cur) throw unknownMigration(migrationId);
      const state = cloneState(cur);
      const now = this.clock.now();
      const r: ApplyResult = applyOperation(state, op, { now, actor, ...(opts.onBehalfOf ? { onBehalfOf: opts.onBehalfOf } : {}) });
      state.updatedAt = now;
      return { state, activity: r.activity, result: r.result };
    }));
  }

  async get(migrationId: string): Promise<MigrationState> {
    const s = await this.store.load(migrationId);
    if (!s) throw unknownMigration(migrationId);
    return s.state;
  }

  async exists(migrationId: string): Promise<boolean> {
    return (await this.store.load(migrationId)) !== null;
  }

  list(): Promise<string[]> {
    return this.store.listMigrations();
  }

  /**
   * The staleness sweep of every runtime (the local server's timer, the Lambda's schedule): read each
   * migration, which marks phases whose reporters missed their promised update as stale, and return the
   * states. One migration that cannot be read does not stop the others; the failures are thrown together after.
   */
  async sweep(): Promise<MigrationState[]> {
    const states: MigrationState[] = [];
    const failed: string[] = [];
    for (const id of await this.list()) {
      try {
        states.push(await this.read(id));
      } catch (e) {
        failed.push(`${id}: ${(e as Error).message}`);
      }
    }
    if (failed.length) throw new Error(`staleness sweep: ${failed.length} migration(s) could not be read: ${failed.join('; ')}`);
    return states;
  }

  /** Read a migration, first marking phases whose reporters went quiet (raising a warning alert once). */
  async read(migrationId: string): Promise<MigrationState> {
    const s = await this.get(migrationId);
    const now = this.clock.now();
    if (s.phases.some((p) => isOverdue(p, now, s.paused) && !p.stale)) {
      await this.apply(migrationId, { action: 'sweep_staleness' }, { actor: 'staleness-sweep' });
      return this.get(migrationId);
    }
    return s;
  }

  async overview(migrationId: string) {
    return overviewOf(await this.read(migrationId), this.clock.now(), this.thresholds);
  }

  async dashboard(migrationId: string, activityLimit = 50) {
    const s = await this.read(migrationId);
    const activity = await this.store.readActivity(migrationId, { limit: activityLimit });
    return dashboardOf(s, activity, this.clock.now(), this.thresholds);
  }

  async estimate(migrationId: string) {
    return estimateOf(await this.read(migrationId), this.clock.now());
  }

  /** Every migration at a glance (the portfolio page). */
  async portfolio() {
    const rows = [];
    for (const id of await this.list()) rows.push(portfolioRowOf(await this.read(id), this.clock.now(), this.thresholds));
    return { migrations: rows };
  }

  /** The migration's history in a range (`?from&to&step`, see lib/core/history.ts). */
  /** `state`: the migration as the caller just read it (a report), so it is not loaded a second time. */
  async history(migrationId: string, query: Record<string, string>, state?: MigrationState) {
    const s = state ?? (await this.get(migrationId));
    const range = historyRange(query, this.clock.now(), s.startedAt);
    const byTier = new Map<string, HistoryPoint[]>();
    for (const tier of HISTORY_TIERS) {
      if (tier.stepMs > range.stepMs && byTier.size) break;
      byTier.set(tier.id, await this.store.readHistory(migrationId, tier.id));
    }
    return historyAnswer(migrationId, range, selectHistory(byTier, range, historyPointOf(s, this.clock.now())));
  }

  /**
   * Record history after a committed change: the first change of each finest bucket at once, the bucket's last
   * change when the next bucket begins (kept pending until then: no write), and every state change.
   */
  private recordHistory(change: TrackerChange, store: ProgressStore): Promise<void> | undefined {
    if (!this.keepHistory) return undefined;
    const id = change.migrationId;
    const bucket = bucketOf(HISTORY_TIERS[0]!, change.at);
    const last = this.historyBucket.get(id);
    if (last === bucket && !isStateChange(change.before, change.after)) {
      this.historyPending.set(id, change);
      return undefined;
    }
    const pending = last !== bucket ? this.historyPending.get(id) : undefined;
    this.historyPending.delete(id);
    this.historyBucket.set(id, bucket);
    const points = [...(pending ? [historyPointOf(pending.after, pending.at)] : []), historyPointOf(change.after, change.at)];
    return store.putHistory(id, historyWrites(...points)).catch((e: unknown) => {
      this.historyBucket.delete(id);
      this.onHistoryError(e, id);
    });
  }

  async health(migrationId?: string) {
    const ids = migrationId ? [migrationId] : await this.list();
    const results = [];
    for (const id of ids) results.push(healthOf(await this.read(id), this.clock.now(), this.thresholds));
    const order: HealthStatus[] = ['healthy', 'degraded', 'unhealthy'];
    const status = results.reduce<HealthStatus>((w, r) => (order.indexOf(r.status) > order.indexOf(w) ? r.status : w), 'healthy');
    return { status, migrations: results };
  }

  /** `span`: the change's span (its store calls are its children); undefined: the active span, if any. */
  private async mutate(
    span: Span | undefined,
    migrationId: string,
    action: string,
    hashOf: () => string,
    opts: MutationOptions,
    compute: (cur: MigrationState | null) => { state: MigrationState; activity: ActivityEntry[]; result: Record<string, unknown> },
    allowCreate = false,
  ): Promise<MutationResult> {
    const key = opts.idempotencyKey;
    if (key !== undefined && (key.length === 0 || key.length > 255)) {
      throw new DomainError('bad_request', 'Idempotency-Key must be 1-255 characters');
    }
    const hash = key ? hashOf() : '';
    const store = storeIn(this.untraced, span, this.store);
    const { durable, out } = await this.withLock(migrationId, async () => {
      for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
        if (key) {
          const prior = await store.getIdempotency(migrationId, key);
          if (prior) {
            if (prior.requestHash !== hash) {
              throw new DomainError('idempotency_mismatch', `Idempotency-Key "${key}" was already used for a different request`);
            }
            if (prior.refusal) throw replayedRefusal(prior.refusal);
            return { durable: Promise.resolve(), out: { result: prior.response, replayed: true } };
          }
        }
        const cur = await store.load(migrationId);
        if (!cur && !allowCreate) throw unknownMigration(migrationId);
        const version = cur?.version ?? 0;
        let next: ReturnType<typeof compute>;
        try {
          next = compute(cur?.state ?? null);
        } catch (e) {
          // A refusal under an Idempotency-Key is its first answer: stored (state unchanged) so a replay gets it again.
          if (!key || !cur || !isDomainError(e)) throw e;
          const refusal = { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
          const commit = await store.commit({
            migrationId,
            expectedVersion: version,
            state: cur.state,
            activity: [],
            idempotency: { key, requestHash: hash, response: {}, refusal, createdAt: this.clock.now() },
          });
          if (commit.ok) return { durable: commit.durable, out: { refusal: e } };
          await contentionPause(attempt);
          continue;
        }
        const now = this.clock.now();
        for (const d of this.derivations) d(cur?.state ?? null, next.state, now, next.activity);
        for (const a of next.activity) a.version = version + 1;
        const commit = await store.commit({
          migrationId,
          expectedVersion: version,
          state: next.state,
          activity: next.activity,
          idempotency: key ? { key, requestHash: hash, response: next.result, createdAt: now } : undefined,
        });
        if (commit.ok) {
          const change: TrackerChange = { migrationId, action, actor: opts.actor ?? 'api', before: cur?.state ?? null, after: next.state, activity: next.activity, at: now };
          const afterCommit = () => {
            const history = this.recordHistory(change, store); // undefined when this change needs no write (most of them)
            return history ? history.then(() => this.notify(change)) : this.notify(change);
          };
          return { durable: commit.durable.then(afterCommit), out: { result: next.result, replayed: false } };
        }
        await contentionPause(attempt);
      }
      throw new DomainError('store_contention', `migration "${migrationId}" is too busy: gave up after ${this.maxRetries} conflicting writes`);
    });
    await durable;
    if ('refusal' in out) throw out.refusal;
    return out;
  }

  private async notify(change: TrackerChange) {
    for (const l of this.listeners) await l(change);
  }

  /** Per-migration in-process mutex; released once the commit is accepted (durability is awaited outside). */
  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = prev.then(() => mine);
    this.locks.set(id, chained);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === chained) this.locks.delete(id);
    }
  }
}

/**
 * Deep copy of a migration document, written out by hand: it is on every update's path and several times
 * faster than structuredClone. Metadata values are copied one level deep: operations replace metadata
 * values, they never mutate them.
 */
export function cloneState(s: MigrationState): MigrationState {
  return {
    ...s,
    phases: s.phases.map((p) => ({
      ...p,
      dependencies: [...p.dependencies],
      metadata: { ...p.metadata },
      errors: [...p.errors],
      warnings: [...p.warnings],
      subTasks: p.subTasks.map((t) => ({ ...t })),
    })),
    alerts: s.alerts.map((a) => ({ ...a })),
    metrics: { ...s.metrics, resourceUtilization: { ...s.metrics.resourceUtilization }, costMetrics: { ...s.metrics.costMetrics } },
    controlEvents: s.controlEvents.map((e) => ({ ...e })),
    ...(s.metricsReported ? { metricsReported: [...s.metricsReported] } : {}),
    ...(s.reports ? { reports: { ...s.reports, produced: { ...s.reports.produced } } } : {}),
    ...(s.notifications ? { notifications: cloneNotifications(s.notifications) } : {}),
  };
}

function cloneNotifications(n: NotificationState): NotificationState {
  return {
    ...n,
    incidents: n.incidents.map((i) => ({ ...i, alertIds: [...i.alertIds], delivered: [...i.delivered] })),
    outbox: n.outbox.map((o) => ({ ...o })),
    delivered: { ...n.delivered },
    failed: { ...n.failed },
    ...(n.lastFailure ? { lastFailure: { ...n.lastFailure } } : {}),
  };
}

export function newMigration(id: string, name: string, plan: PhaseDef[], now: number): MigrationState {
  return {
    id,
    name,
    createdAt: now,
    updatedAt: now,
    paused: false,
    pausedMs: 0,
    phases: plan.map(
      (p): PhaseState => ({
        ...p,
        dependencies: [...p.dependencies],
        status: 'pending',
        progress: 0,
        attempts: 0,
        stale: false,
        metadata: {},
        errors: [],
        warnings: [],
        subTasks: p.subTasks.map((t) => ({ ...t, status: 'pending', progress: 0 })),
      }),
    ),
    alerts: [],
    metrics: emptyMetrics(),
    controlEvents: [],
    alertSeq: 0,
  };
}

const unknownMigration = (id: string) =>
  new DomainError('not_found', `unknown migration "${id}": initialize it first (POST {"action":"initialize"})`);

function replayedRefusal(r: NonNullable<IdempotencyRecord['refusal']>): DomainError {
  const e = new DomainError(r.code as ErrorCode, r.message, r.details);
  e.replayed = true;
  return e;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Before re-reading after a lost compare-and-set: a short random pause, growing with the attempt (≤ 50 ms). */
const contentionPause = (attempt: number) => sleep(Math.min(50, 2 ** Math.min(attempt, 5)) * Math.random());

/** sha256 over JSON with sorted keys. */
export function requestHash(v: unknown): string {
  return createHash('sha256').update(canonicalJson(v)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
