import { CircuitBreaker } from '../../../../lib/core/search/breaker/circuit-breaker';
import { BreakerOpenError } from '../../../../lib/core/search/breaker/errors';
import type { BreakerOptions } from '../../../../lib/core/search/breaker/options';
import { ManualTimers } from '../../../../lib/core/search/breaker/timers';
import { MemoryBreakerStateStore, StaticOperatorSwitch, type BreakerStateStore } from '../../../../lib/core/search/breaker/ports';
import { BreakerRegistry, type TransitionEvent } from '../../../../lib/core/search/breaker/registry';

const fail = (b: CircuitBreaker) => b.execute(() => Promise.reject(Object.assign(new Error('down'), { status: 503 }))).catch(() => undefined);

describe('shared state across instances', () => {
  const base = (timers: ManualTimers, store: BreakerStateStore, id: string): BreakerOptions => ({
    name: 'primary',
    clock: timers,
    timeoutMs: false,
    consecutiveFailures: 2,
    errorThresholdPercent: false,
    resetTimeoutMs: 10_000,
    stateStore: store,
    sharedSyncMs: 1000,
    instanceId: id,
  });

  it('one instance opens, the others open at their next sync without calling the backend', async () => {
    const timers = new ManualTimers();
    const store = new MemoryBreakerStateStore();
    const a = new CircuitBreaker(base(timers, store, 'a'));
    const b = new CircuitBreaker(base(timers, store, 'b'));
    await Promise.all([a.sync(), b.sync()]);
    await fail(a);
    await fail(a);
    expect(a.state).toBe('open');
    await a.flush();
    await expect(store.get('primary')).resolves.toMatchObject({ state: 'open', version: 1, updatedBy: 'a', reason: 'failures', openUntil: timers.now() + 10_000 });

    expect(b.state).toBe('closed');
    await b.syncIfStale(); // synced less than 1 s ago: no read
    expect(b.state).toBe('closed');
    timers.advance(1000);
    await b.syncIfStale();
    expect(b.state).toBe('open');
    const fn = jest.fn();
    await expect(b.execute(fn)).rejects.toBeInstanceOf(BreakerOpenError);
    expect(fn).not.toHaveBeenCalled();
    // b follows a's recovery time, not its own
    expect(b.stats().nextAttemptAt).toBe(a.stats().nextAttemptAt);
  });

  it('the instance whose probes succeed publishes closed; the others close; a stale writer loses', async () => {
    const timers = new ManualTimers();
    const store = new MemoryBreakerStateStore();
    // a reads the store rarely, so it is still behind when its own probe fails below
    const a = new CircuitBreaker({ ...base(timers, store, 'a'), sharedSyncMs: 60_000 });
    const b = new CircuitBreaker(base(timers, store, 'b'));
    await fail(a);
    await fail(a);
    await a.flush();
    timers.advance(1000);
    await b.sync();
    expect(b.state).toBe('open');
    timers.advance(10_000);
    await b.execute(async () => 'probe ok');
    expect(b.state).toBe('closed');
    await b.flush();
    await expect(store.get('primary')).resolves.toMatchObject({ state: 'closed', version: 2, updatedBy: 'b' });
    // a has not synced since: its own probe fails and it tries to publish "open" on version 1 -> conflict,
    // it adopts the newer record instead.
    const seen: string[] = [];
    a.on('open', (e) => seen.push(`open:${e.reason}`));
    a.on('close', (e) => seen.push(`close:${e.reason}`));
    await fail(a);
    await a.flush();
    expect(seen).toEqual(['open:probe_failed', 'close:shared']);
    expect(a.state).toBe('closed');
    await expect(store.get('primary')).resolves.toMatchObject({ state: 'closed', version: 2 });
  });

  it('ignores an open record whose recovery time has passed', async () => {
    const timers = new ManualTimers();
    const store = new MemoryBreakerStateStore();
    await store.compareAndSet('primary', 0, { state: 'open', version: 1, openUntil: timers.now() - 1, updatedAt: 0, updatedBy: 'gone', reason: 'failures' });
    const a = new CircuitBreaker(base(timers, store, 'a'));
    await a.sync();
    expect(a.state).toBe('closed');
  });

  it('goes on with local state when the store fails, and says so', async () => {
    const timers = new ManualTimers();
    const broken: BreakerStateStore = {
      kind: 'broken',
      get: async () => {
        throw new Error('store unreachable');
      },
      compareAndSet: async () => {
        throw new Error('store unreachable');
      },
      close: async () => undefined,
    };
    const a = new CircuitBreaker(base(timers, broken, 'a'));
    const errors: string[] = [];
    a.on('sync-error', (e) => errors.push(`${e.source}: ${(e.error as Error).message}`));
    await a.sync();
    await fail(a);
    await fail(a);
    await a.flush();
    expect(a.state).toBe('open');
    expect(errors).toEqual(['store: store unreachable', 'store: store unreachable']);
    expect(a.stats().counts.syncErrors).toBe(2);
  });

  it('reads the store in the background from execute when the interval has passed', async () => {
    const timers = new ManualTimers();
    const store = new MemoryBreakerStateStore();
    const get = jest.spyOn(store, 'get');
    const a = new CircuitBreaker(base(timers, store, 'a'));
    await a.execute(() => 1);
    await a.execute(() => 1);
    await a.sync(); // the read started by the first call
    expect(get).toHaveBeenCalledTimes(1);
    timers.advance(1000);
    await a.execute(() => 1);
    await a.sync();
    expect(get).toHaveBeenCalledTimes(2);
  });
});

describe('operator switch', () => {
  function make() {
    const timers = new ManualTimers();
    const sw = new StaticOperatorSwitch();
    const b = new CircuitBreaker({ name: 'primary', clock: timers, timeoutMs: false, consecutiveFailures: 1, errorThresholdPercent: false, operatorSwitch: sw, switchRefreshMs: 5000 });
    return { timers, sw, b };
  }

  it('forces the breaker open: every call is rejected, the function never runs, no probe after the reset timeout', async () => {
    const { timers, sw, b } = make();
    sw.set('primary', 'open');
    await b.sync();
    expect(b.state).toBe('open');
    const fn = jest.fn();
    const err = (await b.execute(fn).catch((e: unknown) => e)) as BreakerOpenError;
    expect(err.reason).toBe('operator');
    expect(err.retryAfterMs).toBeNull();
    timers.advance(3_600_000);
    await b.execute(fn, { fallback: () => 'old system' });
    expect(fn).not.toHaveBeenCalled();
    expect(b.stats()).toMatchObject({ forced: 'open', nextAttemptAt: Infinity });
  });

  it('is read at most once per refresh interval', async () => {
    const { timers, sw, b } = make();
    const spy = jest.spyOn(sw, 'position');
    await b.sync();
    sw.set('primary', 'open');
    await b.syncIfStale();
    expect(b.state).toBe('closed');
    timers.advance(5000);
    await b.syncIfStale();
    expect(b.state).toBe('open');
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it('a forced read after a change is not swallowed by a read already under way', async () => {
    const { sw, b } = make();
    const first = b.sync(); // reads "auto" at once
    sw.set('primary', 'open');
    await b.sync(true);
    await first;
    expect(b.state).toBe('open');
  });

  it('releasing a forced open goes through a probe', async () => {
    const { sw, b } = make();
    sw.set('primary', 'open');
    await b.sync();
    sw.set('primary', 'auto');
    await b.sync(true);
    expect(b.state).toBe('half_open');
    await b.execute(() => 'ok');
    expect(b.state).toBe('closed');
  });

  it('forces the breaker closed: failures are counted but do not open it', async () => {
    const { sw, b } = make();
    await fail(b);
    expect(b.state).toBe('open');
    sw.set('primary', 'closed');
    await b.sync(true);
    expect(b.state).toBe('closed');
    for (let i = 0; i < 5; i++) await fail(b);
    expect(b.state).toBe('closed');
    expect(b.stats().counts.failures).toBe(6);
    sw.set('primary', 'auto');
    await b.sync(true);
    await fail(b);
    expect(b.state).toBe('open');
  });

  it('wins over the shared state', async () => {
    const timers = new ManualTimers();
    const store = new MemoryBreakerStateStore();
    await store.compareAndSet('primary', 0, { state: 'open', version: 1, openUntil: timers.now() + 60_000, updatedAt: timers.now(), updatedBy: 'other', reason: 'failures' });
    const sw = new StaticOperatorSwitch({ '*': 'closed' });
    const b = new CircuitBreaker({ name: 'primary', clock: timers, stateStore: store, operatorSwitch: sw });
    await b.sync();
    expect(b.state).toBe('closed');
    expect(b.stats().forced).toBe('closed');
  });
});

describe('registry', () => {
  it('holds named breakers, refuses a taken name and reports every transition', async () => {
    const timers = new ManualTimers();
    const registry = new BreakerRegistry();
    const seen: TransitionEvent[] = [];
    registry.onTransition((t) => seen.push(t));
    const a = new CircuitBreaker({ name: 'a', clock: timers, consecutiveFailures: 1, errorThresholdPercent: false, resetTimeoutMs: 100 });
    registry.register(a);
    registry.register(a); // same breaker again: fine
    expect(() => registry.register(new CircuitBreaker({ name: 'a' }))).toThrow(/already registered/);
    await fail(a);
    timers.advance(100);
    await a.execute(() => 1);
    expect(seen.map((t) => `${t.from}->${t.to}:${t.reason}`)).toEqual(['closed->open:failures', 'open->half_open:recovery_timeout', 'half_open->closed:probes_succeeded']);
    expect(registry.get('a')).toBe(a);
    expect(registry.snapshot().map((s) => [s.name, s.state])).toEqual([['a', 'closed']]);
  });
});
