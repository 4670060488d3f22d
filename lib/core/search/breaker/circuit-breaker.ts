import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AnyOf, ConsecutiveFailures, ErrorRateWindow, type BreakingStrategy } from './strategies';
import { systemTimers, type BreakerTimers } from './timers';
import type { BreakerStateStore, OperatorSwitch, SharedBreakerState, SwitchPosition } from './ports';
import { formatZodError } from '../../validation-util';

/**
 * A circuit breaker: CLOSED (calls pass, outcomes feed a breaking strategy) → OPEN (calls are rejected
 * without reaching the function) → after the recovery timeout, HALF_OPEN (a bounded number of probe calls
 * pass; M successes close it, one failure reopens it).
 *
 * Time comes from `clock` (tests pass ManualTimers). The transition OPEN → HALF_OPEN is computed from
 * timestamps when the next call arrives, so an idle breaker holds no timer. Call deadlines share one timer
 * per breaker (calls are kept in deadline order), so a per-call timeout costs no setTimeout per call.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Given to the guarded function: the signal aborts when the call times out or its caller cancels it. */
export interface CallContext {
  readonly signal: AbortSignal;
}

export interface BreakerOptions {
  /** Used in events, stats, metrics and the shared-state key. */
  name: string;
  /** Per-call timeout in ms; the call's signal aborts and the call counts as a failure. false: none. Default 10000. */
  timeoutMs?: number | false;
  /** Opens after this many failures in a row. false: not used. Default 5. */
  consecutiveFailures?: number | false;
  /** Opens when the failure share of the rolling window reaches this percentage... false: not used. Default 50. */
  errorThresholdPercent?: number | false;
  /** ...once the window holds at least this many calls. Default 20. */
  minimumRequests?: number;
  /** Rolling window length in ms. Default 10000. */
  rollingWindowMs?: number;
  /** Buckets in the rolling window. Default 10. */
  rollingBuckets?: number;
  /** How long the breaker stays open before probing (the recovery timeout), ms. Default 30000. */
  resetTimeoutMs?: number;
  /** Probe calls allowed in flight at once while half-open; the rest are rejected. Default 1. */
  halfOpenMaxCalls?: number;
  /** Probe successes that close the breaker. Default 1. */
  successThreshold?: number;
  /**
   * Which errors count as failures. Default `defaultIsFailure`: everything except a 4xx status other than
   * 408/429 (the backend answered; the request was wrong). Non-failures are rethrown without fallback and
   * count as "the backend answered" for the breaking strategy and probes. Timeouts are always failures.
   */
  isFailure?: (error: unknown) => boolean;
  /** Replaces the strategy built from consecutiveFailures / errorThresholdPercent. */
  strategy?: BreakingStrategy;
  clock?: BreakerTimers;
  /** Shared state so many instances open together (see docs/search-proxy.md for the trade-offs). */
  stateStore?: BreakerStateStore;
  /** How often the shared state is read, ms. Default 2000. */
  sharedSyncMs?: number;
  /** Operator override (Parameter Store on AWS). */
  operatorSwitch?: OperatorSwitch;
  /** How often the operator switch is read, ms. Default 5000. */
  switchRefreshMs?: number;
  /** Names this instance in shared-state records. Default a random id. */
  instanceId?: string;
}

type Defaulted = 'timeoutMs' | 'consecutiveFailures' | 'errorThresholdPercent' | 'minimumRequests' | 'rollingWindowMs' | 'rollingBuckets' | 'resetTimeoutMs' | 'halfOpenMaxCalls' | 'successThreshold' | 'sharedSyncMs' | 'switchRefreshMs';
type ResolvedOptions = BreakerOptions & Required<Pick<BreakerOptions, Defaulted>>;

/** Every default, written down (opossum's habit): 10 s timeout, 5 in a row or 50% of >= 20 calls in 10 s, 30 s open. */
export const BREAKER_DEFAULTS: Readonly<Required<Pick<BreakerOptions, Defaulted>>> = {
  timeoutMs: 10_000,
  consecutiveFailures: 5,
  errorThresholdPercent: 50,
  minimumRequests: 20,
  rollingWindowMs: 10_000,
  rollingBuckets: 10,
  resetTimeoutMs: 30_000,
  halfOpenMaxCalls: 1,
  successThreshold: 1,
  sharedSyncMs: 2_000,
  switchRefreshMs: 5_000,
};

const posInt = z.number().int().positive();
const optionsSchema = z.object({
  name: z.string().min(1).max(200),
  timeoutMs: z.union([z.literal(false), posInt]).optional(),
  consecutiveFailures: z.union([z.literal(false), posInt]).optional(),
  errorThresholdPercent: z.union([z.literal(false), z.number().gt(0).lte(100)]).optional(),
  minimumRequests: posInt.optional(),
  rollingWindowMs: posInt.optional(),
  rollingBuckets: posInt.optional(),
  resetTimeoutMs: posInt.optional(),
  halfOpenMaxCalls: posInt.optional(),
  successThreshold: posInt.optional(),
  sharedSyncMs: posInt.optional(),
  switchRefreshMs: posInt.optional(),
});

export type OpenReason = 'failures' | 'probe_failed' | 'shared' | 'operator';
export type CloseReason = 'probes_succeeded' | 'shared' | 'operator';
export type RejectReason = 'open' | 'half_open_busy' | 'operator';

export interface BreakerEventMap {
  open: { breaker: string; from: BreakerState; reason: OpenReason; openUntil: number };
  close: { breaker: string; from: BreakerState; reason: CloseReason };
  'half-open': { breaker: string; from: BreakerState; reason: 'recovery_timeout' | 'operator' };
  success: { breaker: string; probe: boolean };
  failure: { breaker: string; probe: boolean; error: unknown };
  timeout: { breaker: string; timeoutMs: number };
  reject: { breaker: string; reason: RejectReason };
  fallback: { breaker: string; error: unknown };
  /** Reading or writing the shared state or the operator switch failed; the breaker goes on with local state. */
  'sync-error': { breaker: string; source: 'store' | 'switch'; error: unknown };
}
export type BreakerEvent = keyof BreakerEventMap;

/** Thrown (or passed to the fallback) when the breaker refuses a call. The function was not called. */
export class BreakerOpenError extends Error {
  readonly code = 'breaker_open';
  constructor(
    readonly breaker: string,
    readonly reason: RejectReason,
    /** When a probe will be allowed, or null when an operator holds the breaker open. */
    readonly retryAfterMs: number | null,
  ) {
    super(
      reason === 'operator'
        ? `circuit breaker "${breaker}" is held open by the operator switch`
        : reason === 'half_open_busy'
          ? `circuit breaker "${breaker}" is half-open and its probe slots are taken`
          : `circuit breaker "${breaker}" is open`,
    );
    this.name = 'BreakerOpenError';
  }
}

/** The call ran past its timeout; its signal was aborted with this error as the reason. */
export class BreakerTimeoutError extends Error {
  readonly code = 'breaker_timeout';
  constructor(
    readonly breaker: string,
    readonly timeoutMs: number,
  ) {
    super(`call through circuit breaker "${breaker}" timed out after ${timeoutMs} ms`);
    this.name = 'BreakerTimeoutError';
  }
}

/** HTTP status carried by an error (`status`, `statusCode`, or the AWS SDK's `$metadata.httpStatusCode`). */
export function errorStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { status?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const s = o.status ?? o.statusCode ?? o.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Everything is a failure except a 4xx other than 408 (timeout) and 429 (overloaded). */
export function defaultIsFailure(e: unknown): boolean {
  const s = errorStatus(e);
  return !(s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 429);
}

export interface CallOptions<T> {
  /** Answer instead of failing when the call is rejected, fails or times out (not for non-failure errors). */
  fallback?: (error: unknown) => T | PromiseLike<T>;
  /** Overrides the breaker's timeout for this call. */
  timeoutMs?: number | false;
  /** The caller's own cancellation: the call rejects with its reason, which is not counted as a failure. */
  signal?: AbortSignal;
}

export interface BreakerStats {
  name: string;
  state: BreakerState;
  /** Operator switch position last read ('auto' when none). */
  forced: SwitchPosition;
  openedAt: number | null;
  /** When the next probe may run (open state), else null. Infinity while an operator holds it open. */
  nextAttemptAt: number | null;
  halfOpen: { inFlight: number; successes: number };
  counts: {
    calls: number;
    successes: number;
    failures: number;
    timeouts: number;
    rejections: number;
    fallbacks: number;
    ignoredErrors: number;
    transitions: number;
    syncErrors: number;
  };
  strategy: Record<string, number>;
  shared: { kind: string; version: number } | null;
}

const NEVER_ABORTED = new AbortController().signal;
const PLAIN_CONTEXT: CallContext = { signal: NEVER_ABORTED };

/** The call that is starting right now (see `callSignal`). */
let current: CallContext | null = null;

/**
 * The AbortSignal of the breaker call that is starting. Valid in the synchronous part of a function wrapped
 * by `circuitBreak` or `@breaker`, before its first `await`: read it at the top and pass it on.
 */
export function callSignal(): AbortSignal {
  if (!current) throw new Error('callSignal() is only available while a circuit breaker is starting a call (read it before the first await)');
  return current.signal;
}

/** One guarded call: its deadline-list links, its promise and, created only when read, its AbortController. */
class Call implements CallContext {
  prev: Call | null = null;
  next: Call | null = null;
  settled = false;
  private controller: AbortController | null = null;
  private abortReason: unknown = undefined;
  resolve!: (v: unknown) => void;
  reject!: (e: unknown) => void;
  unlinkSignal: (() => void) | null = null;
  constructor(
    readonly probe: boolean,
    readonly epoch: number,
    readonly deadline: number,
    readonly timeoutMs: number,
    readonly opts: CallOptions<unknown> | undefined,
  ) {}
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }
  abort(reason: unknown): void {
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  x instanceof Promise || (typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function');

export class CircuitBreaker {
  readonly name: string;
  private _state: BreakerState = 'closed';
  private epoch = 0;
  private openedAt: number | null = null;
  private openUntil = 0;
  private halfOpenInFlight = 0;
  private halfOpenSuccesses = 0;
  private forced: SwitchPosition = 'auto';

  private readonly timeoutMs: number;
  private readonly resetTimeoutMs: number;
  private readonly halfOpenMaxCalls: number;
  private readonly successThreshold: number;
  private readonly isFailure: (e: unknown) => boolean;
  private readonly strategy: BreakingStrategy;
  private readonly strategyNeedsTime: boolean;
  readonly clock: BreakerTimers;

  private calls = 0;
  private successes = 0;
  private failures = 0;
  private timeouts = 0;
  private rejections = 0;
  private fallbacks = 0;
  private ignoredErrors = 0;
  private transitions = 0;
  private syncErrors = 0;

  private readonly listeners: { [E in BreakerEvent]: Array<(e: BreakerEventMap[E]) => void> } = {
    open: [],
    close: [],
    'half-open': [],
    success: [],
    failure: [],
    timeout: [],
    reject: [],
    fallback: [],
    'sync-error': [],
  };

  // Deadline list (ascending deadline) and the one timer armed for its head.
  private head: Call | null = null;
  private tail: Call | null = null;
  private timer: unknown = null;
  private timerAt = Infinity;

  // Shared state and operator switch.
  private readonly store: BreakerStateStore | undefined;
  private readonly operatorSwitch: OperatorSwitch | undefined;
  private readonly watch: boolean;
  private readonly sharedSyncMs: number;
  private readonly switchRefreshMs: number;
  private readonly instanceId: string;
  private sharedVersion = 0;
  private nextSyncAt = 0;
  private nextSharedAt = 0;
  private nextSwitchAt = 0;
  private syncing: Promise<void> | null = null;
  private publishing: Promise<void> = Promise.resolve();
  private publishPending = 0;

  constructor(options: BreakerOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) throw new RangeError(`invalid circuit breaker options: ${formatZodError(parsed.error)}`);
    const o: ResolvedOptions = { ...BREAKER_DEFAULTS, ...stripUndefined(options) };
    this.name = o.name;
    this.timeoutMs = o.timeoutMs === false ? 0 : o.timeoutMs;
    this.resetTimeoutMs = o.resetTimeoutMs;
    this.halfOpenMaxCalls = o.halfOpenMaxCalls;
    this.successThreshold = o.successThreshold;
    this.isFailure = o.isFailure ?? defaultIsFailure;
    this.clock = o.clock ?? systemTimers;
    this.strategy = o.strategy ?? buildStrategy(o);
    this.strategyNeedsTime = this.strategy.needsTime;
    this.store = o.stateStore;
    this.operatorSwitch = o.operatorSwitch;
    this.watch = !!(this.store || this.operatorSwitch);
    this.sharedSyncMs = o.sharedSyncMs;
    this.switchRefreshMs = o.switchRefreshMs;
    this.instanceId = o.instanceId ?? randomUUID();
  }

  get state(): BreakerState {
    return this._state;
  }

  on<E extends BreakerEvent>(event: E, listener: (e: BreakerEventMap[E]) => void): () => void {
    const list = this.listeners[event] as Array<(e: BreakerEventMap[E]) => void>;
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  private emit<E extends BreakerEvent>(event: E, payload: BreakerEventMap[E]): void {
    for (const l of this.listeners[event] as Array<(e: BreakerEventMap[E]) => void>) {
      try {
        l(payload);
      } catch (err) {
        // A listener's bug must not change the outcome of the call it observes; it surfaces as an
        // uncaught exception, as it would from an EventEmitter, but outside the call.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Run `fn` through the breaker. Always returns a promise, also for synchronous functions. */
  execute<T>(fn: (ctx: CallContext) => T | PromiseLike<T>, opts?: CallOptions<T>): Promise<Awaited<T>> {
    if (this.watch && !this.syncing && this.clock.now() >= this.nextSyncAt) void this.sync();
    let probe = false;
    if (this._state !== 'closed') {
      const refusal = this.admit();
      if (refusal) return this.refuse(refusal, opts);
      probe = this._state === 'half_open';
    }
    const timeoutMs = opts?.timeoutMs === undefined ? this.timeoutMs : opts.timeoutMs || 0;
    if (timeoutMs === 0 && !opts?.signal) return this.runPlain(fn, probe, opts);
    return this.runGuarded(fn, probe, timeoutMs, opts);
  }

  /** OPEN → HALF_OPEN when the recovery timeout has passed; returns a refusal or null when admitted. */
  private admit(): BreakerOpenError | null {
    if (this._state === 'open') {
      if (this.forced === 'open') return new BreakerOpenError(this.name, 'operator', null);
      const now = this.clock.now();
      if (now < this.openUntil) return new BreakerOpenError(this.name, 'open', this.openUntil - now);
      this.transition('half_open', 'recovery_timeout', true);
    }
    if (this.halfOpenInFlight >= this.halfOpenMaxCalls) return new BreakerOpenError(this.name, 'half_open_busy', null);
    this.halfOpenInFlight++;
    return null;
  }

  private refuse<T>(err: BreakerOpenError, opts: CallOptions<T> | undefined): Promise<Awaited<T>> {
    this.rejections++;
    if (this.listeners.reject.length) this.emit('reject', { breaker: this.name, reason: err.reason });
    if (opts?.fallback) return this.runFallback(err, opts.fallback) as Promise<Awaited<T>>;
    return Promise.reject(err);
  }

  private runFallback<T>(error: unknown, fallback: (e: unknown) => T | PromiseLike<T>): Promise<T> {
    this.fallbacks++;
    if (this.listeners.fallback.length) this.emit('fallback', { breaker: this.name, error });
    try {
      return Promise.resolve(fallback(error));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** No deadline and no caller signal: no per-call object beyond the promise callbacks. */
  private runPlain<T>(fn: (ctx: CallContext) => T | PromiseLike<T>, probe: boolean, opts: CallOptions<T> | undefined): Promise<Awaited<T>> {
    this.calls++;
    const epoch = this.epoch;
    const prev = current;
    current = PLAIN_CONTEXT;
    let r: T | PromiseLike<T>;
    try {
      r = fn(PLAIN_CONTEXT);
    } catch (e) {
      current = prev;
      return this.plainError(e, probe, epoch, opts) as Promise<Awaited<T>>;
    }
    current = prev;
    if (isThenable(r)) {
      return Promise.resolve(r).then(
        (v) => {
          this.recordSuccess(probe, epoch);
          return v;
        },
        (e) => this.plainError(e, probe, epoch, opts),
      ) as Promise<Awaited<T>>;
    }
    this.recordSuccess(probe, epoch);
    return Promise.resolve(r) as Promise<Awaited<T>>;
  }

  private plainError<T>(e: unknown, probe: boolean, epoch: number, opts: CallOptions<T> | undefined): Promise<T> {
    if (!this.isFailure(e)) {
      this.recordIgnored(probe, epoch);
      return Promise.reject(e);
    }
    this.recordFailure(probe, epoch, e);
    if (opts?.fallback) return this.runFallback(e, opts.fallback);
    return Promise.reject(e);
  }

  private runGuarded<T>(fn: (ctx: CallContext) => T | PromiseLike<T>, probe: boolean, timeoutMs: number, opts: CallOptions<T> | undefined): Promise<Awaited<T>> {
    const signal = opts?.signal;
    if (signal?.aborted) {
      if (probe) this.halfOpenInFlight--;
      return Promise.reject(signal.reason);
    }
    this.calls++;
    const call = new Call(probe, this.epoch, timeoutMs ? this.clock.now() + timeoutMs : Infinity, timeoutMs, opts as CallOptions<unknown> | undefined);
    const promise = new Promise<T>((resolve, reject) => {
      call.resolve = resolve as (v: unknown) => void;
      call.reject = reject;
    });
    if (timeoutMs) this.insertDeadline(call);
    if (signal) {
      const onAbort = () => this.cancel(call, signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      call.unlinkSignal = () => signal.removeEventListener('abort', onAbort);
    }
    const prev = current;
    current = call;
    try {
      const r = fn(call);
      current = prev;
      if (isThenable(r)) {
        r.then(
          (v) => this.finishOk(call, v),
          (e) => this.finishError(call, e),
        );
      } else this.finishOk(call, r);
    } catch (e) {
      current = prev;
      this.finishError(call, e);
    }
    return promise as Promise<Awaited<T>>;
  }

  private settle(call: Call): boolean {
    if (call.settled) return false;
    call.settled = true;
    if (call.deadline !== Infinity) this.removeDeadline(call);
    if (call.unlinkSignal) call.unlinkSignal();
    return true;
  }

  private finishOk(call: Call, v: unknown): void {
    if (!this.settle(call)) return;
    this.recordSuccess(call.probe, call.epoch);
    call.resolve(v);
  }

  private finishError(call: Call, e: unknown): void {
    if (!this.settle(call)) return;
    if (!this.isFailure(e)) {
      this.recordIgnored(call.probe, call.epoch);
      call.reject(e);
      return;
    }
    this.recordFailure(call.probe, call.epoch, e);
    this.failOrFallback(call, e);
  }

  private failOrFallback(call: Call, e: unknown): void {
    const fb = call.opts?.fallback;
    if (fb) call.resolve(this.runFallback(e, fb));
    else call.reject(e);
  }

  private timedOut(call: Call): void {
    if (!this.settle(call)) return;
    const err = new BreakerTimeoutError(this.name, call.timeoutMs);
    call.abort(err);
    this.timeouts++;
    if (this.listeners.timeout.length) this.emit('timeout', { breaker: this.name, timeoutMs: call.timeoutMs });
    this.recordFailure(call.probe, call.epoch, err);
    this.failOrFallback(call, err);
  }

  /** The caller gave up: no outcome is recorded, a probe slot is given back. */
  private cancel(call: Call, reason: unknown): void {
    if (!this.settle(call)) return;
    call.abort(reason);
    if (call.probe && call.epoch === this.epoch) this.halfOpenInFlight--;
    call.reject(reason);
  }

  private recordSuccess(probe: boolean, epoch: number): void {
    this.successes++;
    if (this.listeners.success.length) this.emit('success', { breaker: this.name, probe });
    this.answered(probe, epoch);
  }

  private recordIgnored(probe: boolean, epoch: number): void {
    this.ignoredErrors++;
    this.answered(probe, epoch);
  }

  /** The backend answered (a success, or an error that is not a failure). */
  private answered(probe: boolean, epoch: number): void {
    // Outcomes of calls admitted before the last transition say nothing about the present state.
    if (epoch !== this.epoch) return;
    if (probe) {
      this.halfOpenInFlight--;
      if (++this.halfOpenSuccesses >= this.successThreshold) this.transition('closed', 'probes_succeeded', true);
    } else this.strategy.onSuccess(this.strategyNeedsTime ? this.clock.now() : 0);
  }

  /** Events go out in the order things happened: the failure, then the transition it caused. */
  private recordFailure(probe: boolean, epoch: number, error: unknown): void {
    this.failures++;
    if (this.listeners.failure.length) this.emit('failure', { breaker: this.name, probe, error });
    if (epoch !== this.epoch) return;
    if (probe) this.transition('open', 'probe_failed', true);
    else if (this.strategy.onFailure(this.strategyNeedsTime ? this.clock.now() : 0) && this.forced !== 'closed') {
      this.transition('open', 'failures', true);
    }
  }

  private transition(to: 'open', reason: OpenReason, publish: boolean, openUntil?: number): void;
  private transition(to: 'closed', reason: CloseReason, publish: boolean): void;
  private transition(to: 'half_open', reason: 'recovery_timeout' | 'operator', publish: boolean): void;
  private transition(to: BreakerState, reason: string, publish: boolean, openUntil?: number): void {
    const from = this._state;
    const now = this.clock.now();
    this.epoch++;
    this._state = to;
    this.halfOpenInFlight = 0;
    this.halfOpenSuccesses = 0;
    this.strategy.reset();
    this.transitions++;
    if (to === 'open') {
      this.openedAt = now;
      this.openUntil = openUntil ?? now + this.resetTimeoutMs;
      if (publish) this.publish('open', reason);
      this.emit('open', { breaker: this.name, from, reason: reason as OpenReason, openUntil: this.openUntil });
    } else if (to === 'closed') {
      this.openedAt = null;
      this.openUntil = 0;
      if (publish) this.publish('closed', reason);
      this.emit('close', { breaker: this.name, from, reason: reason as CloseReason });
    } else {
      this.emit('half-open', { breaker: this.name, from, reason: reason as 'recovery_timeout' | 'operator' });
    }
  }

  // ---- deadlines -------------------------------------------------------------------------------------

  private insertDeadline(call: Call): void {
    let after = this.tail;
    while (after && after.deadline > call.deadline) after = after.prev;
    call.prev = after;
    call.next = after ? after.next : this.head;
    if (call.next) call.next.prev = call;
    else this.tail = call;
    if (after) after.next = call;
    else this.head = call;
    if (call.deadline < this.timerAt) this.arm(call.deadline);
  }

  private removeDeadline(call: Call): void {
    if (call.prev) call.prev.next = call.next;
    else if (this.head === call) this.head = call.next;
    if (call.next) call.next.prev = call.prev;
    else if (this.tail === call) this.tail = call.prev;
    call.prev = call.next = null;
    // The armed timer is left alone: when it fires early it re-arms for the new head.
  }

  private arm(at: number): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.onDeadline(), Math.max(0, at - this.clock.now()));
  }

  private onDeadline(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    while (this.head && this.head.deadline <= now) this.timedOut(this.head);
    if (this.head) this.arm(this.head.deadline);
  }

  // ---- shared state and operator switch ---------------------------------------------------------------

  /** Read the operator switch and the shared state when their refresh intervals have passed. Never rejects. */
  syncIfStale(): Promise<void> {
    if (!this.watch) return Promise.resolve();
    if (this.syncing) return this.syncing;
    if (this.clock.now() < this.nextSyncAt) return Promise.resolve();
    return this.sync();
  }

  /** Read the switch and the shared state now (e.g. at a cold start, or after the switch was set). Never rejects. */
  sync(force = false): Promise<void> {
    // A read already under way may have started before whatever prompted a forced one: read again after it.
    if (force && this.syncing) return this.syncing.then(() => this.sync(true));
    if (force) this.nextSwitchAt = this.nextSharedAt = 0;
    this.syncing ??= this.doSync().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    const now = this.clock.now();
    const sw = this.operatorSwitch;
    if (sw && now >= this.nextSwitchAt) {
      this.nextSwitchAt = now + this.switchRefreshMs;
      await this.reading('switch', async () => this.applySwitch(await sw.position(this.name)));
    }
    const store = this.store;
    if (store && now >= this.nextSharedAt) {
      this.nextSharedAt = now + this.sharedSyncMs;
      await this.reading('store', async () => this.adopt(await store.get(this.name)));
    }
    this.nextSyncAt = Math.min(sw ? this.nextSwitchAt : Infinity, store ? this.nextSharedAt : Infinity);
  }

  /** A failed read leaves the breaker on what it knew, and is reported. */
  private async reading(source: 'store' | 'switch', read: () => Promise<void>): Promise<void> {
    try {
      await read();
    } catch (e) {
      this.syncError(source, e);
    }
  }

  private syncError(source: 'store' | 'switch', error: unknown): void {
    this.syncErrors++;
    this.emit('sync-error', { breaker: this.name, source, error });
  }

  /** Apply an operator switch position (also usable directly, e.g. from an admin route). */
  applySwitch(position: SwitchPosition): void {
    const prev = this.forced;
    if (position === prev) return;
    this.forced = position;
    if (position === 'open') this.transition('open', 'operator', false, Infinity);
    else if (position === 'closed') this.transition('closed', 'operator', false);
    else if (prev === 'open') this.transition('half_open', 'operator', false);
  }

  private adopt(rec: SharedBreakerState | null): void {
    if (!rec || rec.version <= this.sharedVersion) return;
    this.sharedVersion = rec.version;
    if (this.forced !== 'auto') return;
    if (rec.state === 'closed') {
      if (this._state !== 'closed') this.transition('closed', 'shared', false);
      return;
    }
    // An open record whose recovery time has passed is someone else's stale episode: local state decides.
    if (rec.openUntil <= this.clock.now()) return;
    if (this._state === 'open') this.openUntil = rec.openUntil;
    else this.transition('open', 'shared', false, rec.openUntil);
  }

  private publish(state: 'open' | 'closed', reason: string): void {
    const store = this.store;
    if (!store) return;
    const openUntil = state === 'open' ? this.openUntil : 0;
    const updatedAt = this.clock.now();
    this.publishPending++;
    this.publishing = this.publishing
      .then(async () => {
        const expected = this.sharedVersion;
        const next: SharedBreakerState = { state, version: expected + 1, openUntil, updatedAt, updatedBy: this.instanceId, reason };
        if (await store.compareAndSet(this.name, expected, next)) {
          this.sharedVersion = next.version;
          return;
        }
        // Another instance wrote first: its record is newer than what we knew; adopt it.
        this.adopt(await store.get(this.name));
      })
      .catch((e) => this.syncError('store', e))
      .finally(() => {
        this.publishPending--;
      });
  }

  /** Resolves when every shared-state write started so far has finished (Lambda: before returning). */
  flush(): Promise<void> {
    return this.publishPending ? this.publishing : Promise.resolve();
  }

  // ---- introspection ---------------------------------------------------------------------------------

  stats(): BreakerStats {
    const now = this.clock.now();
    return {
      name: this.name,
      state: this._state,
      forced: this.forced,
      openedAt: this.openedAt,
      nextAttemptAt: this._state === 'open' ? this.openUntil : null,
      halfOpen: { inFlight: this.halfOpenInFlight, successes: this.halfOpenSuccesses },
      counts: {
        calls: this.calls,
        successes: this.successes,
        failures: this.failures,
        timeouts: this.timeouts,
        rejections: this.rejections,
        fallbacks: this.fallbacks,
        ignoredErrors: this.ignoredErrors,
        transitions: this.transitions,
        syncErrors: this.syncErrors,
      },
      strategy: this.strategy.snapshot(now),
      shared: this.store ? { kind: this.store.kind, version: this.sharedVersion } : null,
    };
  }

  toJSON(): BreakerStats {
    return this.stats();
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function buildStrategy(o: ResolvedOptions): BreakingStrategy {
  const parts: BreakingStrategy[] = [];
  if (o.consecutiveFailures !== false) parts.push(new ConsecutiveFailures(o.consecutiveFailures));
  if (o.errorThresholdPercent !== false) {
    parts.push(
      new ErrorRateWindow({
        windowMs: o.rollingWindowMs,
        buckets: o.rollingBuckets,
        thresholdPercent: o.errorThresholdPercent,
        minimumRequests: o.minimumRequests,
      }),
    );
  }
  if (!parts.length) throw new RangeError(`circuit breaker "${o.name}" has no way to open: set consecutiveFailures, errorThresholdPercent or strategy`);
  return parts.length === 1 ? parts[0]! : new AnyOf(parts);
}

// ---- wrapping functions ------------------------------------------------------------------------------

/** Where a wrapper or decorator gets its breaker: a new one from these options, or a given one. */
export interface BreakerSource extends Omit<BreakerOptions, 'name'> {
  /** Default: the function's (or method's) name. */
  name?: string;
  /** Register the new breaker here (telemetry). */
  registry?: { register(b: CircuitBreaker): void };
  /** Use this breaker instead of creating one (several functions behind one breaker). */
  breaker?: CircuitBreaker;
}

export interface WrapOptions<A extends unknown[], R> extends BreakerSource {
  /** Answer with this when the call is rejected, fails or times out. Gets the error and the call's arguments. */
  fallback?: (error: unknown, ...args: A) => R | PromiseLike<R>;
}

export type BreakerFunction<A extends unknown[], R> = ((...args: A) => Promise<Awaited<R>>) & { readonly breaker: CircuitBreaker };

/** Build (or reuse) the breaker a wrapper or decorator guards with, registering it when asked. */
export function breakerFor(source: BreakerSource, defaultName: string): CircuitBreaker {
  if (source.breaker) return source.breaker;
  const { registry, breaker: _b, fallback: _f, ...rest } = source as BreakerSource & { fallback?: unknown };
  const b = new CircuitBreaker({ ...rest, name: source.name ?? defaultName });
  registry?.register(b);
  return b;
}

/**
 * Wrap any sync or async function: the wrapper has the same parameters and always returns a promise.
 * Inside the function, `callSignal()` (read before the first await) gives the call's AbortSignal.
 */
export function circuitBreak<A extends unknown[], R>(fn: (...args: A) => R, options: WrapOptions<A, Awaited<R>> = {}): BreakerFunction<A, R> {
  const b = breakerFor(options, fn.name || 'anonymous');
  const fallback = options.fallback;
  const wrapped = function (this: unknown, ...args: A): Promise<Awaited<R>> {
    const self = this;
    return b.execute(
      () => fn.apply(self, args) as Awaited<R> | PromiseLike<Awaited<R>>,
      fallback ? { fallback: (e) => fallback(e, ...args) } : undefined,
    ) as Promise<Awaited<R>>;
  };
  return Object.defineProperty(wrapped, 'breaker', { value: b, enumerable: true }) as BreakerFunction<A, R>;
}
