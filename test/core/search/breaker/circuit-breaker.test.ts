import { CircuitBreaker } from '../../../../lib/core/search/breaker/circuit-breaker';
import { BreakerOpenError, BreakerTimeoutError, defaultIsFailure } from '../../../../lib/core/search/breaker/errors';
import type { BreakerEvent } from '../../../../lib/core/search/breaker/events';
import type { BreakerOptions } from '../../../../lib/core/search/breaker/options';
import { ManualTimers } from '../../../../lib/core/search/breaker/timers';
import { ErrorRateWindow, ConsecutiveFailures } from '../../../../lib/core/search/breaker/strategies';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const boom = (status?: number) => Object.assign(new Error(`boom${status ?? ''}`), status ? { status } : {});
const flush = () => new Promise<void>((r) => setImmediate(r));

function setup(opts: Partial<BreakerOptions> = {}) {
  const timers = new ManualTimers();
  const b = new CircuitBreaker({ name: 'primary', clock: timers, timeoutMs: false, ...opts });
  const events: string[] = [];
  for (const e of ['open', 'close', 'half-open', 'success', 'failure', 'timeout', 'reject', 'fallback'] as BreakerEvent[]) {
    b.on(e, () => events.push(e));
  }
  let reached = 0;
  const fail = () => b.execute(() => {
    reached++;
    throw boom(503);
  });
  const ok = () => b.execute(async () => {
    reached++;
    return 'ok';
  });
  return { timers, b, events, fail, ok, reached: () => reached };
}

describe('circuit breaker: consecutive failures', () => {
  it('opens after N failures in a row and rejects without calling the function', async () => {
    const { b, fail, reached, events } = setup({ consecutiveFailures: 3, errorThresholdPercent: false });
    for (let i = 0; i < 2; i++) await expect(fail()).rejects.toThrow('boom503');
    expect(b.state).toBe('closed');
    await expect(fail()).rejects.toThrow('boom503');
    expect(b.state).toBe('open');
    const fn = jest.fn(async () => 1);
    const err = await b.execute(fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BreakerOpenError);
    expect((err as BreakerOpenError).reason).toBe('open');
    expect((err as BreakerOpenError).retryAfterMs).toBe(30_000);
    expect(fn).not.toHaveBeenCalled();
    expect(reached()).toBe(3);
    expect(events).toEqual(['failure', 'failure', 'failure', 'open', 'reject']);
  });

  it('a success resets the count', async () => {
    const { b, fail, ok } = setup({ consecutiveFailures: 3, errorThresholdPercent: false });
    await fail().catch(() => undefined);
    await fail().catch(() => undefined);
    await ok();
    await fail().catch(() => undefined);
    await fail().catch(() => undefined);
    expect(b.state).toBe('closed');
    await fail().catch(() => undefined);
    expect(b.state).toBe('open');
  });
});

describe('circuit breaker: error percentage over a rolling window', () => {
  const opts = { consecutiveFailures: false as const, errorThresholdPercent: 50, minimumRequests: 10, rollingWindowMs: 10_000, rollingBuckets: 10 };

  it('does not open below the minimum volume, opens at the threshold once the volume is reached', async () => {
    const { b, fail, ok } = setup(opts);
    for (let i = 0; i < 4; i++) await ok();
    for (let i = 0; i < 5; i++) await fail().catch(() => undefined);
    // 9 calls, 5 failed (55%): below the volume of 10
    expect(b.state).toBe('closed');
    await ok(); // 10 calls, 5 failures: 50% is not a failure outcome, the strategy only decides on failures
    expect(b.state).toBe('closed');
    await fail().catch(() => undefined); // 11 calls, 6 failures = 54.5% >= 50
    expect(b.state).toBe('open');
  });

  it('stays closed just under the threshold', async () => {
    const { b, fail, ok } = setup(opts);
    for (let i = 0; i < 6; i++) await ok();
    for (let i = 0; i < 5; i++) await fail().catch(() => undefined); // 5/11 = 45%
    expect(b.state).toBe('closed');
    expect(b.stats().strategy).toMatchObject({ windowRequests: 11, windowFailures: 5 });
  });

  it('forgets outcomes older than the window', async () => {
    const { b, timers, fail, ok } = setup(opts);
    for (let i = 0; i < 9; i++) await fail().catch(() => undefined); // 9 failures at t0, under volume
    timers.advance(10_000); // a whole window later: those buckets are gone
    expect(b.stats().strategy).toMatchObject({ windowRequests: 0, windowFailures: 0 });
    for (let i = 0; i < 9; i++) await ok();
    await fail().catch(() => undefined); // 1/10 = 10%
    expect(b.state).toBe('closed');
  });
});

describe('ErrorRateWindow arithmetic', () => {
  it('keeps the current bucket and buckets-1 before it', () => {
    const w = new ErrorRateWindow({ windowMs: 1000, buckets: 4, thresholdPercent: 50, minimumRequests: 100 });
    expect(w.bucketMs).toBe(250);
    w.onFailure(0); // bucket 0
    w.onSuccess(249); // bucket 0
    w.onSuccess(250); // bucket 1
    w.onFailure(999); // bucket 3
    expect(w.snapshot(999)).toEqual({ windowRequests: 4, windowFailures: 2, windowErrorPercent: 50 });
    // at 1000 bucket 4 reuses slot 0: the two outcomes of bucket 0 leave
    expect(w.snapshot(1000)).toEqual({ windowRequests: 2, windowFailures: 1, windowErrorPercent: 50 });
    expect(w.snapshot(1250)).toEqual({ windowRequests: 1, windowFailures: 1, windowErrorPercent: 100 });
    // a jump longer than the window clears everything
    w.onSuccess(5000);
    expect(w.snapshot(5000)).toEqual({ windowRequests: 1, windowFailures: 0, windowErrorPercent: 0 });
  });

  it('records a clock step back into the current bucket', () => {
    const w = new ErrorRateWindow({ windowMs: 1000, buckets: 4, thresholdPercent: 50, minimumRequests: 1 });
    w.onSuccess(1000);
    w.onSuccess(500);
    expect(w.snapshot(1000).windowRequests).toBe(2);
  });

  it('decides with >= threshold and minimum volume', () => {
    const at = new ErrorRateWindow({ windowMs: 1000, buckets: 1, thresholdPercent: 25, minimumRequests: 4 });
    at.onSuccess(0);
    at.onSuccess(0);
    expect(at.onFailure(0)).toBe(false); // 1/3 = 33%, but only 3 calls
    at.onSuccess(0);
    at.onSuccess(0);
    at.onSuccess(0);
    expect(at.onFailure(0)).toBe(true); // 2/7 = 28.6% >= 25
    const exact = new ErrorRateWindow({ windowMs: 1000, buckets: 1, thresholdPercent: 25, minimumRequests: 4 });
    for (let i = 0; i < 3; i++) exact.onSuccess(0);
    expect(exact.onFailure(0)).toBe(true); // exactly 25%
    const under = new ErrorRateWindow({ windowMs: 1000, buckets: 1, thresholdPercent: 25, minimumRequests: 4 });
    for (let i = 0; i < 4; i++) under.onSuccess(0);
    expect(under.onFailure(0)).toBe(false); // 20%
  });

  it('rejects windows that do not divide into whole buckets', () => {
    expect(() => new ErrorRateWindow({ windowMs: 1000, buckets: 3, thresholdPercent: 50, minimumRequests: 1 })).toThrow(/whole multiple/);
    expect(() => new ConsecutiveFailures(0)).toThrow(/>= 1/);
  });
});

describe('circuit breaker: recovery', () => {
  it('half-opens after the recovery timeout, closes after M probe successes', async () => {
    const { b, timers, fail, ok, events } = setup({ consecutiveFailures: 1, errorThresholdPercent: false, resetTimeoutMs: 5000, successThreshold: 2 });
    await fail().catch(() => undefined);
    expect(b.state).toBe('open');
    timers.advance(4999);
    await expect(ok()).rejects.toBeInstanceOf(BreakerOpenError);
    timers.advance(1);
    events.length = 0;
    await ok();
    expect(b.state).toBe('half_open');
    await ok();
    expect(b.state).toBe('closed');
    expect(events).toEqual(['half-open', 'success', 'success', 'close']);
  });

  it('reopens on a probe failure, with a fresh recovery timeout', async () => {
    const { b, timers, fail } = setup({ consecutiveFailures: 1, errorThresholdPercent: false, resetTimeoutMs: 5000 });
    await fail().catch(() => undefined);
    timers.advance(5000);
    await fail().catch(() => undefined);
    expect(b.state).toBe('open');
    expect(b.stats().nextAttemptAt).toBe(timers.now() + 5000);
    timers.advance(4000);
    await expect(b.execute(() => 1)).rejects.toBeInstanceOf(BreakerOpenError);
  });

  it('lets at most halfOpenMaxCalls probes through at once', async () => {
    const { b, timers, fail } = setup({ consecutiveFailures: 1, errorThresholdPercent: false, resetTimeoutMs: 1000, halfOpenMaxCalls: 2, successThreshold: 3 });
    await fail().catch(() => undefined);
    timers.advance(1000);
    const gates = [deferred<string>(), deferred<string>(), deferred<string>()];
    let reached = 0;
    const probe = (i: number) => b.execute(() => (reached++, gates[i]!.promise));
    const p1 = probe(0);
    const p2 = probe(1);
    const third = await probe(2).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(BreakerOpenError);
    expect((third as BreakerOpenError).reason).toBe('half_open_busy');
    expect(reached).toBe(2);
    expect(b.stats().halfOpen).toEqual({ inFlight: 2, successes: 0 });
    gates[0]!.resolve('a');
    await p1;
    // one slot freed: a new probe may go
    const p3 = probe(2);
    expect(reached).toBe(3);
    gates[1]!.resolve('b');
    gates[2]!.resolve('c');
    await Promise.all([p2, p3]);
    expect(b.state).toBe('closed');
  });

  it('ignores outcomes of calls admitted before the last transition', async () => {
    const { b, timers, fail } = setup({ consecutiveFailures: 1, errorThresholdPercent: false, resetTimeoutMs: 1000 });
    const slow = deferred<string>();
    const late = b.execute(() => slow.promise);
    await fail().catch(() => undefined);
    expect(b.state).toBe('open');
    slow.resolve('late');
    await expect(late).resolves.toBe('late');
    expect(b.state).toBe('open'); // a success from the closed epoch does not close it
    timers.advance(1000);
    const probeGate = deferred<string>();
    const probe = b.execute(() => probeGate.promise);
    expect(b.state).toBe('half_open');
    probeGate.resolve('p');
    await probe;
    expect(b.state).toBe('closed');
  });
});

describe('circuit breaker: timeouts', () => {
  it('rejects at the deadline, aborts the signal, counts a failure and ignores the late answer', async () => {
    const timers = new ManualTimers();
    const b = new CircuitBreaker({ name: 't', clock: timers, timeoutMs: 200, consecutiveFailures: 2, errorThresholdPercent: false });
    const gate = deferred<string>();
    let seen: AbortSignal | undefined;
    const p = b.execute(({ signal }) => {
      seen = signal;
      return gate.promise;
    });
    timers.advance(199);
    expect(seen!.aborted).toBe(false);
    timers.advance(1);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BreakerTimeoutError);
    expect(seen!.aborted).toBe(true);
    expect(seen!.reason).toBe(err);
    gate.resolve('too late');
    await flush();
    expect(b.stats().counts).toMatchObject({ calls: 1, failures: 1, timeouts: 1, successes: 0 });
    // a second timeout opens it (consecutive 2)
    const p2 = b.execute(() => new Promise(() => undefined));
    timers.advance(200);
    await expect(p2).rejects.toBeInstanceOf(BreakerTimeoutError);
    expect(b.state).toBe('open');
  });

  it('uses one timer for many calls and honours a shorter per-call timeout', async () => {
    const timers = new ManualTimers();
    const b = new CircuitBreaker({ name: 't', clock: timers, timeoutMs: 1000, consecutiveFailures: 100, errorThresholdPercent: false });
    const hang = () => new Promise<never>(() => undefined);
    const settled: string[] = [];
    const track = (label: string, p: Promise<unknown>) => p.catch(() => settled.push(label));
    const all = [track('a', b.execute(hang))];
    timers.advance(100);
    all.push(track('b', b.execute(hang)));
    all.push(track('short', b.execute(hang, { timeoutMs: 50 })));
    expect(timers.pending).toBe(1);
    timers.advance(50);
    await flush();
    expect(settled).toEqual(['short']);
    timers.advance(850);
    await flush();
    expect(settled).toEqual(['short', 'a']);
    timers.advance(100);
    await Promise.all(all);
    expect(settled).toEqual(['short', 'a', 'b']);
    expect(b.stats().counts.timeouts).toBe(3);
  });

  it('a call that finishes in time leaves no timeout behind', async () => {
    const timers = new ManualTimers();
    const b = new CircuitBreaker({ name: 't', clock: timers, timeoutMs: 100 });
    await expect(b.execute(async () => 'fast')).resolves.toBe('fast');
    timers.advance(1000);
    await flush();
    expect(b.stats().counts).toMatchObject({ successes: 1, timeouts: 0, failures: 0 });
  });

  it("the caller's own signal cancels without counting a failure", async () => {
    const timers = new ManualTimers();
    const b = new CircuitBreaker({ name: 't', clock: timers, timeoutMs: false, consecutiveFailures: 1, errorThresholdPercent: false });
    const ac = new AbortController();
    let inner: AbortSignal | undefined;
    const p = b.execute(({ signal }) => ((inner = signal), new Promise(() => undefined)), { signal: ac.signal });
    ac.abort(new Error('client went away'));
    await expect(p).rejects.toThrow('client went away');
    expect(inner!.aborted).toBe(true);
    expect(b.state).toBe('closed');
    expect(b.stats().counts.failures).toBe(0);
    const already = jest.fn();
    await expect(b.execute(already, { signal: ac.signal })).rejects.toThrow('client went away');
    expect(already).not.toHaveBeenCalled();
  });
});

describe('circuit breaker: failure predicate and fallback', () => {
  it('does not count a 4xx, rethrows it without fallback', async () => {
    const { b } = setup({ consecutiveFailures: 1, errorThresholdPercent: false });
    const fallback = jest.fn(() => 'fb');
    await expect(b.execute(() => Promise.reject(boom(404)), { fallback })).rejects.toThrow('boom404');
    expect(fallback).not.toHaveBeenCalled();
    expect(b.state).toBe('closed');
    expect(b.stats().counts).toMatchObject({ ignoredErrors: 1, failures: 0 });
    await expect(b.execute(() => Promise.reject(boom(429)), { fallback })).resolves.toBe('fb');
    expect(b.state).toBe('open');
  });

  it('default predicate: 4xx except 408/429 are not failures; errors without status are', () => {
    expect(defaultIsFailure(boom(400))).toBe(false);
    expect(defaultIsFailure(boom(408))).toBe(true);
    expect(defaultIsFailure(boom(500))).toBe(true);
    expect(defaultIsFailure({ $metadata: { httpStatusCode: 403 } })).toBe(false);
    expect(defaultIsFailure(new Error('ECONNREFUSED'))).toBe(true);
  });

  it('takes a custom predicate', async () => {
    const { b } = setup({ consecutiveFailures: 1, errorThresholdPercent: false, isFailure: (e) => (e as Error).message !== 'benign' });
    await expect(b.execute(() => Promise.reject(new Error('benign')))).rejects.toThrow('benign');
    expect(b.state).toBe('closed');
  });

  it('falls back on failure, on rejection and on timeout', async () => {
    const timers = new ManualTimers();
    const b = new CircuitBreaker({ name: 'fb', clock: timers, timeoutMs: 100, consecutiveFailures: 2, errorThresholdPercent: false });
    const reasons: unknown[] = [];
    const fallback = (e: unknown) => (reasons.push(e), 'fallback');
    await expect(b.execute(() => Promise.reject(boom(500)), { fallback })).resolves.toBe('fallback');
    const hanging = b.execute(() => new Promise<string>(() => undefined), { fallback });
    timers.advance(100);
    await expect(hanging).resolves.toBe('fallback');
    expect(b.state).toBe('open');
    await expect(b.execute(async () => 'x', { fallback })).resolves.toBe('fallback');
    expect(reasons.map((r) => (r as Error).name)).toEqual(['Error', 'BreakerTimeoutError', 'BreakerOpenError']);
    expect(b.stats().counts.fallbacks).toBe(3);
  });

  it('a failing fallback rejects with its own error', async () => {
    const { b } = setup();
    await expect(
      b.execute(() => Promise.reject(boom(500)), {
        fallback: () => {
          throw new Error('fallback down too');
        },
      }),
    ).rejects.toThrow('fallback down too');
  });
});

describe('execute(fn) with any function', () => {
  it('takes a sync function: a promise back, sync throws counted, the fallback answers', async () => {
    const timers = new ManualTimers();
    const b = new CircuitBreaker({ name: 'add', clock: timers, consecutiveFailures: 1, errorThresholdPercent: false });
    const add = (a: number, c: number) => {
      if (a < 0) throw new Error('negative');
      return a + c;
    };
    const safeAdd = (a: number, c: number) => b.execute(() => add(a, c), { fallback: () => -(a + c) });
    await expect(safeAdd(1, 2)).resolves.toBe(3);
    await expect(safeAdd(-1, 2)).resolves.toBe(-1);
    expect(b.state).toBe('open');
    await expect(safeAdd(5, 5)).resolves.toBe(-10);
    expect(b.stats().counts).toMatchObject({ calls: 2, rejections: 1, fallbacks: 2 });
  });

  it("passes the call's AbortSignal in the context", async () => {
    const timers = new ManualTimers();
    const b = new CircuitBreaker({ name: 'ctx', clock: timers, timeoutMs: 50 });
    const signals: AbortSignal[] = [];
    await expect(b.execute(async ({ signal }) => (signals.push(signal), 15))).resolves.toBe(15);
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[0]!.aborted).toBe(false);
  });

  it('rejects invalid options with a message naming them', () => {
    expect(() => new CircuitBreaker({ name: 'x', resetTimeoutMs: -1 })).toThrow(/resetTimeoutMs/);
    expect(() => new CircuitBreaker({ name: 'x', consecutiveFailures: false, errorThresholdPercent: false })).toThrow(/no way to open/);
  });
});

describe('circuit breaker stats', () => {
  it('reports a snapshot of state and counts', async () => {
    const { b, timers, fail, ok } = setup({ consecutiveFailures: 2, minimumRequests: 50 });
    await ok();
    await fail().catch(() => undefined);
    await fail().catch(() => undefined);
    await ok().catch(() => undefined);
    const s = b.stats();
    expect(s).toMatchObject({
      name: 'primary',
      state: 'open',
      forced: 'auto',
      openedAt: timers.now(),
      nextAttemptAt: timers.now() + 30_000,
      counts: { calls: 3, successes: 1, failures: 2, rejections: 1, timeouts: 0, transitions: 1 },
      strategy: { consecutiveFailures: 0, windowRequests: 0 },
      shared: null,
    });
    expect(JSON.parse(JSON.stringify(b))).toMatchObject({ name: 'primary', state: 'open' });
  });
});
