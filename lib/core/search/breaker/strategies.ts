/**
 * Breaking strategies decide, from the outcomes of calls made while CLOSED, when the breaker opens. They
 * are separate from the state machine (as in cockatiel) and hold no timers: rolling windows are computed
 * from the timestamps they are given.
 */
export interface BreakingStrategy {
  /** True when the strategy reads the clock (the breaker skips the clock read otherwise). */
  readonly needsTime: boolean;
  onSuccess(now: number): void;
  /** Record a failure; true when the breaker should open. */
  onFailure(now: number): boolean;
  /** Forget everything (on every state change). */
  reset(): void;
  snapshot(now: number): Record<string, number>;
}

/** Opens after `threshold` failures in a row; any success resets the count. */
export class ConsecutiveFailures implements BreakingStrategy {
  readonly needsTime = false;
  private count = 0;
  constructor(readonly threshold: number) {
    if (!Number.isInteger(threshold) || threshold < 1) throw new RangeError(`consecutive failure threshold must be an integer >= 1 (got ${threshold})`);
  }
  onSuccess(): void {
    this.count = 0;
  }
  onFailure(): boolean {
    return ++this.count >= this.threshold;
  }
  reset(): void {
    this.count = 0;
  }
  snapshot(): Record<string, number> {
    return { consecutiveFailures: this.count };
  }
}

export interface ErrorRateOptions {
  /** Window length in ms. */
  windowMs: number;
  /** Buckets the window is cut into; windowMs must divide evenly. */
  buckets: number;
  /** Opens when failures/total * 100 >= this, ... */
  thresholdPercent: number;
  /** ... and at least this many calls completed inside the window. */
  minimumRequests: number;
}

/**
 * Error percentage over a rolling window of `buckets` buckets of `windowMs / buckets` ms each. The window at
 * time t holds the bucket containing t and the `buckets - 1` before it, so it spans between
 * `windowMs - bucketMs` and `windowMs` of history. Old buckets are cleared lazily when time moves on.
 */
export class ErrorRateWindow implements BreakingStrategy {
  readonly needsTime = true;
  readonly bucketMs: number;
  private readonly ok: Float64Array;
  private readonly bad: Float64Array;
  private current = -1;
  private total = 0;
  private failures = 0;

  constructor(readonly opts: ErrorRateOptions) {
    const { windowMs, buckets, thresholdPercent, minimumRequests } = opts;
    if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`rolling window buckets must be an integer >= 1 (got ${buckets})`);
    if (!Number.isInteger(windowMs) || windowMs < buckets || windowMs % buckets !== 0) {
      throw new RangeError(`rolling window ${windowMs} ms must be a whole multiple of its ${buckets} buckets`);
    }
    if (!(thresholdPercent > 0 && thresholdPercent <= 100)) throw new RangeError(`error threshold must be in (0, 100] percent (got ${thresholdPercent})`);
    if (!Number.isInteger(minimumRequests) || minimumRequests < 1) throw new RangeError(`minimum requests must be an integer >= 1 (got ${minimumRequests})`);
    this.bucketMs = windowMs / buckets;
    this.ok = new Float64Array(buckets);
    this.bad = new Float64Array(buckets);
  }

  private roll(now: number): number {
    const b = Math.floor(now / this.bucketMs);
    const n = this.ok.length;
    if (this.current < 0) this.current = b;
    else if (b > this.current) {
      const steps = Math.min(b - this.current, n);
      for (let i = 1; i <= steps; i++) {
        const s = (this.current + i) % n;
        this.total -= this.ok[s]! + this.bad[s]!;
        this.failures -= this.bad[s]!;
        this.ok[s] = 0;
        this.bad[s] = 0;
      }
      this.current = b;
    }
    // A clock that steps back (NTP) records into the current bucket rather than rewriting history.
    return this.current % n;
  }

  onSuccess(now: number): void {
    this.ok[this.roll(now)]!++;
    this.total++;
  }

  onFailure(now: number): boolean {
    this.bad[this.roll(now)]!++;
    this.total++;
    this.failures++;
    return this.total >= this.opts.minimumRequests && this.failures * 100 >= this.opts.thresholdPercent * this.total;
  }

  reset(): void {
    this.ok.fill(0);
    this.bad.fill(0);
    this.total = 0;
    this.failures = 0;
    this.current = -1;
  }

  snapshot(now: number): Record<string, number> {
    this.roll(now);
    return {
      windowRequests: this.total,
      windowFailures: this.failures,
      windowErrorPercent: this.total ? (this.failures * 100) / this.total : 0,
    };
  }
}

/** Opens when any of its strategies says so. */
export class AnyOf implements BreakingStrategy {
  readonly needsTime: boolean;
  constructor(readonly strategies: BreakingStrategy[]) {
    this.needsTime = strategies.some((s) => s.needsTime);
  }
  onSuccess(now: number): void {
    for (const s of this.strategies) s.onSuccess(now);
  }
  onFailure(now: number): boolean {
    let open = false;
    for (const s of this.strategies) open = s.onFailure(now) || open;
    return open;
  }
  reset(): void {
    for (const s of this.strategies) s.reset();
  }
  snapshot(now: number): Record<string, number> {
    return Object.assign({}, ...this.strategies.map((s) => s.snapshot(now)));
  }
}
