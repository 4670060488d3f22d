/**
 * Breaker edge semantics (issue 14 item 10), the behaviours opossum's and cockatiel's suites pin down: a
 * failure predicate that throws, wall-clock steps under call deadlines, listeners that unsubscribe or throw
 * while an event goes out, and an operator switch that changes nothing.
 */
import { CircuitBreaker } from '../../../../lib/core/search/breaker/circuit-breaker';
import { BreakerOpenError } from '../../../../lib/core/search/breaker/errors';
import type { BreakerOptions } from '../../../../lib/core/search/breaker/options';
import { ManualTimers } from '../../../../lib/core/search/breaker/timers';
import { BreakerRegistry, type TransitionEvent } from '../../../../lib/core/search/breaker/registry';
import { StaticOperatorSwitch } from '../../../../lib/core/search/breaker/ports';

const flush = () => new Promise<void>((r) => setImmediate(r));
const boom = (status = 503) => Object.assign(new Error(`boom${status}`), { status });

/** The promise's state after the microtask queue has drained: 'pending', or how it settled. */
async function stateOf(p: Promise<unknown>): Promise<{ state: 'pending' } | { state: 'fulfilled'; value: unknown } | { state: 'rejected'; error: unknown }> {
  let out: { state: 'pending' } | { state: 'fulfilled'; value: unknown } | { state: 'rejected'; error: unknown } = { state: 'pending' };
  p.then(
    (value) => (out = { state: 'fulfilled', value }),
    (error) => (out = { state: 'rejected', error }),
  );
  await flush();
  return out;
}

/** Unhandled rejections seen while `fn` runs (and a turn after). */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await fn();
    await flush();
    await flush();
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return seen;
}

const predicateBug = new Error('predicate bug');
/** A predicate with a bug: it throws for errors without a status. */
const throwingPredicate = (e: unknown): boolean => {
  if (typeof (e as { status?: unknown }).status !== 'number') throw predicateBug;
  return true;
};

function make(opts: Partial<BreakerOptions> = {}) {
  const timers = new ManualTimers();
  const b = new CircuitBreaker({ name: 'edge', clock: timers, timeoutMs: false, consecutiveFailures: 1, errorThresholdPercent: false, resetTimeoutMs: 1000, ...opts });
  return { timers, b };
}

describe('a failure predicate that throws', () => {
  it('never makes execute() throw synchronously; the call rejects with its own error and counts as a failure', async () => {
    const { b } = make({ isFailure: throwingPredicate, consecutiveFailures: 2 });
    const plain = new Error('no status');
    let p!: Promise<unknown>;
    const unhandled = await unhandledDuring(async () => {
      expect(() => {
        p = b.execute(() => {
          throw plain;
        });
      }).not.toThrow();
      await expect(p).rejects.toBe(plain);
    });
    expect(unhandled).toEqual([]);
    expect(b.stats().counts).toMatchObject({ failures: 1, predicateErrors: 1 });
  });

  it('settles a call with a deadline (no call left hanging past it) and raises no unhandled rejection', async () => {
    const { b, timers } = make({ isFailure: throwingPredicate, consecutiveFailures: 5 });
    const errors: unknown[] = [];
    b.on('predicate-error', (e) => errors.push(e.error));
    let p!: Promise<unknown>;
    const unhandled = await unhandledDuring(async () => {
      p = b.execute(async () => Promise.reject(new Error('no status')), { timeoutMs: 50 });
      await flush();
      timers.advance(100);
      const s = await stateOf(p);
      expect(s.state).toBe('rejected');
      expect((s as { error: Error }).error.message).toBe('no status');
    });
    expect(unhandled).toEqual([]);
    expect(errors).toEqual([predicateBug]);
  });

  it('as a half-open probe, gives its slot back: the next call an hour later is a probe, not half_open_busy', async () => {
    const { b, timers } = make({ isFailure: throwingPredicate });
    await expect(b.execute(() => Promise.reject(boom()))).rejects.toThrow('boom503');
    expect(b.state).toBe('open');
    timers.advance(1000);
    await expect(b.execute(async () => Promise.reject(new Error('no status')))).rejects.toThrow('no status');
    timers.advance(3_600_000);
    const r = await b.execute(async () => 'ok').catch((e: unknown) => e);
    expect(r).not.toBeInstanceOf(BreakerOpenError);
    expect(r).toBe('ok');
  });
});

describe('execute() never throws synchronously', () => {
  it('a caller signal that is not an AbortSignal rejects the call, counts nothing and gives the probe slot back', async () => {
    const { b, timers } = make();
    await expect(b.execute(() => Promise.reject(boom()))).rejects.toThrow('boom503');
    timers.advance(1000);
    let p!: Promise<unknown>;
    expect(() => {
      p = b.execute(async () => 'never', { signal: {} as AbortSignal });
    }).not.toThrow();
    await expect(p).rejects.toBeInstanceOf(TypeError);
    expect(b.stats().counts.failures).toBe(1);
    await expect(b.execute(async () => 'probe')).resolves.toBe('probe');
    expect(b.state).toBe('closed');
  });
});

describe('call deadlines run on a monotonic clock', () => {
  it('a wall-clock step back does not delay a 50 ms timeout', async () => {
    const { b, timers } = make();
    const p = b.execute(() => new Promise(() => undefined), { timeoutMs: 50 });
    timers.stepWall(-2000);
    timers.advance(60);
    const s = await stateOf(p);
    expect(s.state).toBe('rejected');
    expect((s as { error: Error }).error.message).toMatch(/timed out after 50 ms/);
  });

  it('a wall-clock step forward neither fires a long timeout early nor delays a later short one', async () => {
    const { b, timers } = make({ consecutiveFailures: 10 });
    const long = b.execute(() => new Promise(() => undefined), { timeoutMs: 1000 });
    timers.stepWall(3_600_000);
    const short = b.execute(() => new Promise(() => undefined), { timeoutMs: 50 });
    timers.advance(60);
    expect((await stateOf(short)).state).toBe('rejected');
    expect((await stateOf(long)).state).toBe('pending');
    timers.advance(1000);
    expect((await stateOf(long)).state).toBe('rejected');
  });
});

describe('listeners', () => {
  it('a listener that unsubscribes itself during emit does not make the next listener miss the event', async () => {
    const { b } = make();
    const seen: string[] = [];
    const off = b.on('open', () => {
      seen.push('first');
      off();
    });
    b.on('open', () => seen.push('second'));
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    expect(seen).toEqual(['first', 'second']);
  });

  it('a throwing registry onTransition listener does not stop the fan-out; the error is reported', async () => {
    const reported: unknown[] = [];
    const registry = new BreakerRegistry({ onListenerError: (e) => reported.push(e) });
    const { b } = make();
    registry.register(b);
    const seen: TransitionEvent[] = [];
    const bug = new Error('listener bug');
    registry.onTransition(() => {
      throw bug;
    });
    registry.onTransition((t) => seen.push(t));
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    expect(seen).toEqual([{ breaker: 'edge', from: 'closed', to: 'open', reason: 'failures' }]);
    expect(reported).toEqual([bug]);
  });

  it('a throwing breaker listener does not change the call outcome and is reported to onListenerError', async () => {
    const reported: unknown[] = [];
    const { b } = make({ onListenerError: (e) => reported.push(e) });
    const bug = new Error('listener bug');
    b.on('success', () => {
      throw bug;
    });
    await expect(b.execute(async () => 'ok')).resolves.toBe('ok');
    expect(reported).toEqual([bug]);
  });
});

describe('the operator switch', () => {
  it('set to closed on a closed breaker emits no transition and records no metric', async () => {
    const sw = new StaticOperatorSwitch({ edge: 'closed' });
    const { b } = make({ operatorSwitch: sw });
    const registry = new BreakerRegistry();
    registry.register(b);
    const transitions: TransitionEvent[] = [];
    const events: string[] = [];
    registry.onTransition((t) => transitions.push(t));
    for (const e of ['open', 'close', 'half-open'] as const) b.on(e, () => events.push(e));
    await b.sync(true);
    expect(b.state).toBe('closed');
    expect(b.stats().forced).toBe('closed');
    expect(events).toEqual([]);
    expect(transitions).toEqual([]);
    expect(b.stats().counts.transitions).toBe(0);
  });

  it('set to open on an open breaker holds it open without a second open event', async () => {
    const sw = new StaticOperatorSwitch();
    const { b } = make({ operatorSwitch: sw });
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    const events: string[] = [];
    b.on('open', () => events.push('open'));
    sw.set('edge', 'open');
    await b.sync(true);
    expect(b.state).toBe('open');
    expect(events).toEqual([]);
    const err = await b.execute(async () => 1).catch((e: unknown) => e);
    expect((err as BreakerOpenError).reason).toBe('operator');
  });
});
