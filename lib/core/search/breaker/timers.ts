import { ManualClock, type Clock } from '../../clock';

/**
 * What the breaker needs from time: the clock (epoch ms, shared-state records compare it across
 * instances) and one-shot timers for call deadlines. Tests pass `ManualTimers` and move time by hand.
 */
export interface BreakerTimers extends Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: BreakerTimers = {
  now: () => Date.now(),
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

/** Timers driven by a ManualClock: `advance(ms)` fires every timer due in that span, in time order. */
export class ManualTimers implements BreakerTimers {
  private timers: ManualTimer[] = [];
  private seq = 0;
  constructor(readonly clock: ManualClock = new ManualClock()) {}

  now(): number {
    return this.clock.now();
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { id: ++this.seq, at: this.clock.now() + Math.max(0, ms), fn };
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
    const end = this.clock.now() + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((x, y) => x.at - y.at || x.id - y.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      if (due.at > this.clock.now()) this.clock.set(due.at);
      due.fn();
    }
    this.clock.set(end);
  }
}
