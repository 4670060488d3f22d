import { performance } from 'node:perf_hooks';
import { ManualClock, type Clock } from '../../clock';

/**
 * What the breaker needs from time: the wall clock (`now`, epoch ms: shared-state records compare it
 * across instances), a monotonic clock (`monotonic`, ms from an arbitrary origin: call deadlines, so an NTP
 * step of the wall clock never shortens or stretches a timeout) and one-shot timers, which run on
 * monotonic time as Node's do. Tests pass `ManualTimers` and move time by hand.
 */
export interface BreakerTimers extends Clock {
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: BreakerTimers = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending deadline must not keep a process alive on its own: the call it guards holds its own I/O.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * Timers driven by hand: `advance(ms)` moves the wall clock (a ManualClock) and the monotonic clock
 * together and fires every timer due in that span, in time order; `stepWall(ms)` moves only the wall clock
 * (an NTP step, either way), as a real clock step leaves `performance.now()` and pending timers alone.
 */
export class ManualTimers implements BreakerTimers {
  private timers: ManualTimer[] = [];
  private seq = 0;
  private mono = 0;
  constructor(readonly clock: ManualClock = new ManualClock()) {}

  now(): number {
    return this.clock.now();
  }
  monotonic(): number {
    return this.mono;
  }
  /** Step the wall clock by `ms` (negative: back) without moving monotonic time or firing timers. */
  stepWall(ms: number): void {
    this.clock.set(this.clock.now() + ms);
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { id: ++this.seq, at: this.mono + Math.max(0, ms), fn };
    this.timers.push(t);
    return t.id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }
  /** Move time forward, firing due timers at their own time (earliest first, then in creation order). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualTimers.advance needs ms >= 0 (got ${ms}); use stepWall to move the wall clock back`);
    const end = this.mono + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((x, y) => x.at - y.at || x.id - y.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      if (due.at > this.mono) this.move(due.at - this.mono);
      due.fn();
    }
    this.move(end - this.mono);
  }
  private move(ms: number): void {
    this.mono += ms;
    this.clock.advance(ms);
  }
}
