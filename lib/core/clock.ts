/** Clock port: every time-dependent rule in core reads time through it, so tests drive time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. For tests and simulations. */
export class ManualClock implements Clock {
  constructor(private t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    if (ms < 0) throw new Error('ManualClock cannot go backwards');
    this.t += ms;
  }
  set(t: number): void {
    this.t = t;
  }
}

export const iso = (ms: number): string => new Date(ms).toISOString();
