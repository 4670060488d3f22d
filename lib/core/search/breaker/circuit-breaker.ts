import { Call, PLAIN_CONTEXT, isThenable, type CallContext, type CallOptions } from './call';
import { DeadlineQueue } from './deadlines';
import { BreakerOpenError, BreakerTimeoutError } from './errors';
import { Emitter, type BreakerEvent, type BreakerEventMap } from './events';
import { resolveBreakerOptions, type BreakerOptions, type ResolvedBreakerOptions } from './options';
import type { SharedBreakerState, SwitchPosition } from './ports';
import type { BreakerState, BreakerStats, CircuitState, CloseReason, HalfOpen, HalfOpenReason, OpenReason } from './state';
import type { BreakingStrategy } from './strategies';
import { BreakerSync } from './sync';
import type { BreakerTimers } from './timers';

/**
 * A circuit breaker: CLOSED (calls pass, outcomes feed a breaking strategy) → OPEN (calls are rejected
 * without reaching the function) → after the recovery timeout, HALF_OPEN (a bounded number of probe calls
 * pass; M successes close it, one failure reopens it).
 *
 * This file is the state machine. Its collaborators: options.ts (every default), errors.ts, events.ts (the
 * emitter), deadlines.ts (call timeouts on the monotonic clock), sync.ts (shared state and the operator
 * switch), strategies.ts (when to open). OPEN → HALF_OPEN is computed when the next call arrives, so an
 * idle breaker holds no timer. `execute` never throws synchronously and every call settles.
 */

export class CircuitBreaker {
  readonly name: string;
  readonly clock: BreakerTimers;
  private s: CircuitState = { kind: 'closed' };
  private forced: SwitchPosition = 'auto';
  private readonly o: ResolvedBreakerOptions;
  private readonly strategy: BreakingStrategy;
  private readonly events: Emitter<BreakerEventMap>;
  private readonly deadlines: DeadlineQueue<Call>;
  private readonly shared: BreakerSync | null;
  private readonly counts: BreakerStats['counts'] = { calls: 0, successes: 0, failures: 0, timeouts: 0, rejections: 0, fallbacks: 0, ignoredErrors: 0, transitions: 0, syncErrors: 0, predicateErrors: 0 };

  constructor(options: BreakerOptions) {
    this.o = resolveBreakerOptions(options);
    this.name = this.o.name;
    this.clock = this.o.clock;
    this.strategy = this.o.strategy;
    this.events = new Emitter(this.o.onListenerError);
    this.deadlines = new DeadlineQueue<Call>(this.clock, (call) => this.timedOut(call));
    this.shared = BreakerSync.when(this.o, { name: this.name, applySwitch: (p) => this.applySwitch(p), adoptShared: (r) => this.adoptShared(r), syncError: (src, e) => this.syncError(src, e) });
  }

  get state(): BreakerState {
    return this.s.kind;
  }

  on<E extends BreakerEvent>(event: E, listener: (e: BreakerEventMap[E]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** Run `fn` through the breaker. Always returns a promise (also for synchronous functions); never throws. */
  execute<T>(fn: (ctx: CallContext) => T | PromiseLike<T>, opts?: CallOptions<T>): Promise<Awaited<T>> {
    this.shared?.poke();
    let st = this.s;
    if (st.kind !== 'closed') {
      const admitted = this.admit(st);
      if (admitted instanceof BreakerOpenError) return this.refuse(admitted, opts);
      st = admitted;
    }
    const timeoutMs = opts?.timeoutMs === undefined ? this.o.timeoutMs : opts.timeoutMs || 0;
    if (timeoutMs === 0 && !opts?.signal) return this.runPlain(fn, st, opts);
    return this.runGuarded(fn, st, timeoutMs, opts);
  }

  /** OPEN → HALF_OPEN when the recovery time has passed; a probe slot, or the refusal. */
  private admit(st: Exclude<CircuitState, { kind: 'closed' }>): HalfOpen | BreakerOpenError {
    if (st.kind === 'open') {
      if (this.forced === 'open') return new BreakerOpenError(this.name, 'operator', null);
      const wait = st.probeAt - this.clock.monotonic();
      if (wait > 0) return new BreakerOpenError(this.name, 'open', wait);
      return this.transition('half_open', 'recovery_timeout');
    }
    if (st.inFlight >= this.o.halfOpenMaxCalls) return new BreakerOpenError(this.name, 'half_open_busy', null);
    st.inFlight++;
    return st;
  }

  private refuse<T>(err: BreakerOpenError, opts: CallOptions<T> | undefined): Promise<Awaited<T>> {
    this.counts.rejections++;
    if (this.events.has('reject')) this.events.emit('reject', { breaker: this.name, reason: err.reason });
    if (opts?.fallback) return this.runFallback(err, opts.fallback) as Promise<Awaited<T>>;
    return Promise.reject(err);
  }

  private runFallback<T>(error: unknown, fallback: (e: unknown) => T | PromiseLike<T>): Promise<T> {
    this.counts.fallbacks++;
    if (this.events.has('fallback')) this.events.emit('fallback', { breaker: this.name, error });
    try {
      return Promise.resolve(fallback(error));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** No deadline and no caller signal: no per-call object beyond the promise callbacks. */
  private runPlain<T>(fn: (ctx: CallContext) => T | PromiseLike<T>, st: CircuitState, opts: CallOptions<T> | undefined): Promise<Awaited<T>> {
    this.counts.calls++;
    let r: T | PromiseLike<T>;
    let thenable: boolean;
    try {
      r = fn(PLAIN_CONTEXT);
      thenable = isThenable(r);
    } catch (e) {
      return this.plainError(e, st, opts) as Promise<Awaited<T>>;
    }
    if (thenable) {
      return Promise.resolve(r).then(
        (v) => {
          this.answered(st, true);
          return v;
        },
        (e) => this.plainError(e, st, opts),
      ) as Promise<Awaited<T>>;
    }
    this.answered(st, true);
    return Promise.resolve(r) as Promise<Awaited<T>>;
  }

  private plainError<T>(e: unknown, st: CircuitState, opts: CallOptions<T> | undefined): Promise<T> {
    if (!this.isFailure(e)) {
      this.answered(st, false);
      return Promise.reject(e);
    }
    this.recordFailure(st, e);
    return opts?.fallback ? this.runFallback(e, opts.fallback) : Promise.reject(e);
  }

  private runGuarded<T>(fn: (ctx: CallContext) => T | PromiseLike<T>, st: CircuitState, timeoutMs: number, opts: CallOptions<T> | undefined): Promise<Awaited<T>> {
    const signal = opts?.signal;
    if (signal?.aborted) {
      if (st.kind === 'half_open') st.inFlight--;
      return Promise.reject(signal.reason);
    }
    this.counts.calls++;
    const call = new Call(st, timeoutMs ? this.clock.monotonic() + timeoutMs : Infinity, timeoutMs, opts as CallOptions<unknown> | undefined);
    const promise = call.promise as Promise<Awaited<T>>;
    if (timeoutMs) this.deadlines.insert(call);
    if (signal) {
      const onAbort = () => this.cancel(call, signal.reason);
      try {
        signal.addEventListener('abort', onAbort, { once: true });
      } catch (e) {
        this.cancel(call, e); // not an AbortSignal: the caller's mistake, settled without counting it
        return promise;
      }
      call.unlinkSignal = () => signal.removeEventListener('abort', onAbort);
    }
    try {
      const r = fn(call);
      if (isThenable(r)) {
        r.then(
          (v) => this.finishOk(call, v),
          (e) => this.finishError(call, e),
        );
      } else this.finishOk(call, r);
    } catch (e) {
      this.finishError(call, e);
    }
    return promise;
  }

  private settle(call: Call): boolean {
    if (call.settled) return false;
    call.settled = true;
    if (call.deadline !== Infinity) this.deadlines.remove(call);
    if (call.unlinkSignal) call.unlinkSignal();
    return true;
  }

  private finishOk(call: Call, v: unknown): void {
    if (!this.settle(call)) return;
    this.answered(call.state, true);
    call.resolve(v);
  }

  private finishError(call: Call, e: unknown): void {
    if (!this.settle(call)) return;
    if (!this.isFailure(e)) {
      this.answered(call.state, false);
      call.reject(e);
      return;
    }
    this.recordFailure(call.state, e);
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
    this.counts.timeouts++;
    if (this.events.has('timeout')) this.events.emit('timeout', { breaker: this.name, timeoutMs: call.timeoutMs });
    this.recordFailure(call.state, err);
    this.failOrFallback(call, err);
  }

  /** The caller gave up: no outcome is recorded, a probe slot is given back. */
  private cancel(call: Call, reason: unknown): void {
    if (!this.settle(call)) return;
    call.abort(reason);
    if (call.state.kind === 'half_open') call.state.inFlight--;
    call.reject(reason);
  }

  /** The predicate, made total: one that throws counts the error as a failure and says so. */
  private isFailure(e: unknown): boolean {
    try {
      return this.o.isFailure(e);
    } catch (predicateError) {
      this.counts.predicateErrors++;
      this.events.emit('predicate-error', { breaker: this.name, error: predicateError, callError: e });
      return true;
    }
  }

  /** The backend answered: a success, or an error that is not a failure. */
  private answered(st: CircuitState, success: boolean): void {
    if (success) {
      this.counts.successes++;
      if (this.events.has('success')) this.events.emit('success', { breaker: this.name, probe: st.kind === 'half_open' });
    } else this.counts.ignoredErrors++;
    if (st.kind === 'half_open') st.inFlight--;
    // Outcomes of calls admitted before the last transition say nothing about the present state.
    if (st !== this.s) return;
    if (st.kind === 'half_open') {
      if (++st.successes >= this.o.successThreshold) this.transition('closed', 'probes_succeeded');
    } else if (st.kind === 'closed') this.strategy.onSuccess(this.strategyNow());
  }

  /** Events go out in the order things happened: the failure, then the transition it caused. */
  private recordFailure(st: CircuitState, error: unknown): void {
    this.counts.failures++;
    if (st.kind === 'half_open') st.inFlight--;
    if (this.events.has('failure')) this.events.emit('failure', { breaker: this.name, probe: st.kind === 'half_open', error });
    if (st !== this.s) return;
    if (st.kind === 'half_open') this.transition('open', 'probe_failed');
    else if (st.kind === 'closed' && this.strategy.onFailure(this.strategyNow()) && this.forced !== 'closed') this.transition('open', 'failures');
  }

  private strategyNow(): number {
    return this.strategy.needsTime ? this.clock.monotonic() : 0;
  }

  /**
   * Move to a new state object and tell everyone. `from` names what moved it: the breaker itself (published
   * to the shared state), or the shared state / the operator (not published again). `openUntil`: wall-clock
   * ms to stay open (shared records, the operator's Infinity); default the recovery timeout from now.
   */
  private transition(to: 'open', reason: OpenReason, openUntil?: number): void;
  private transition(to: 'closed', reason: CloseReason): void;
  private transition(to: 'half_open', reason: HalfOpenReason): HalfOpen;
  private transition(to: BreakerState, reason: string, openUntil?: number): HalfOpen | void {
    const from = this.s;
    const now = this.clock.now();
    const publish = reason !== 'shared' && reason !== 'operator';
    this.strategy.reset();
    this.counts.transitions++;
    if (to === 'open') {
      const until = openUntil ?? now + this.o.resetTimeoutMs;
      const st: CircuitState = { kind: 'open', openedAt: now, openUntil: until, probeAt: this.clock.monotonic() + (until - now) };
      this.s = st;
      if (publish) this.shared?.publish('open', until, reason);
      this.events.emit('open', { breaker: this.name, from: from.kind, reason: reason as OpenReason, openUntil: until });
    } else if (to === 'closed') {
      this.s = { kind: 'closed' };
      if (publish) this.shared?.publish('closed', 0, reason);
      this.events.emit('close', { breaker: this.name, from: from.kind, reason: reason as CloseReason });
    } else {
      const st: HalfOpen = { kind: 'half_open', openedAt: from.kind === 'closed' ? now : from.openedAt, inFlight: 1, successes: 0 };
      // The call that found the recovery time passed takes the first probe slot; an operator's release takes none.
      if (reason === 'operator') st.inFlight = 0;
      this.s = st;
      this.events.emit('half-open', { breaker: this.name, from: from.kind, reason: reason as HalfOpenReason });
      return st;
    }
  }

  /** Apply an operator switch position (also usable directly, e.g. from an admin route). Changes only what it must. */
  applySwitch(position: SwitchPosition): void {
    const prev = this.forced;
    if (position === prev) return;
    this.forced = position;
    const st = this.s;
    if (position === 'open') {
      if (st.kind !== 'open') this.transition('open', 'operator', Infinity);
      else st.openUntil = st.probeAt = Infinity; // already open: held there, no second transition
    } else if (position === 'closed') {
      if (st.kind !== 'closed') this.transition('closed', 'operator');
    } else if (prev === 'open' && st.kind === 'open') this.transition('half_open', 'operator');
  }

  private adoptShared(rec: SharedBreakerState): void {
    if (this.forced !== 'auto') return;
    const st = this.s;
    if (rec.state === 'closed') {
      if (st.kind !== 'closed') this.transition('closed', 'shared');
      return;
    }
    // An open record whose recovery time has passed is someone else's stale episode: local state decides.
    const now = this.clock.now();
    if (rec.openUntil <= now) return;
    if (st.kind !== 'open') this.transition('open', 'shared', rec.openUntil);
    else {
      st.openUntil = rec.openUntil;
      st.probeAt = this.clock.monotonic() + (rec.openUntil - now);
    }
  }

  private syncError(source: 'store' | 'switch', error: unknown): void {
    this.counts.syncErrors++;
    this.events.emit('sync-error', { breaker: this.name, source, error });
  }

  /** Read the switch and the shared state when their refresh intervals have passed. Never rejects. */
  syncIfStale(): Promise<void> {
    return this.shared ? this.shared.syncIfStale() : Promise.resolve();
  }

  /** Read the switch and the shared state now (a cold start, or after the switch was set). Never rejects. */
  sync(force = false): Promise<void> {
    return this.shared ? this.shared.sync(force) : Promise.resolve();
  }

  /** Resolves when every shared-state write started so far has finished (Lambda: before returning). */
  flush(): Promise<void> {
    return this.shared ? this.shared.flush() : Promise.resolve();
  }

  /** True when a call now would be let through as a probe (open past its recovery time, or a free half-open slot). */
  probeDue(): boolean {
    const st = this.s;
    if (st.kind === 'open') return this.forced !== 'open' && st.probeAt <= this.clock.monotonic();
    return st.kind === 'half_open' && st.inFlight < this.o.halfOpenMaxCalls;
  }

  stats(): BreakerStats {
    const st = this.s;
    return {
      name: this.name,
      state: st.kind,
      forced: this.forced,
      openedAt: st.kind === 'closed' ? null : st.openedAt,
      nextAttemptAt: st.kind === 'open' ? st.openUntil : null,
      halfOpen: st.kind === 'half_open' ? { inFlight: st.inFlight, successes: st.successes } : { inFlight: 0, successes: 0 },
      counts: { ...this.counts },
      strategy: this.strategy.snapshot(this.strategyNow()),
      shared: this.shared?.info() ?? null,
    };
  }

  toJSON(): BreakerStats {
    return this.stats();
  }
}
