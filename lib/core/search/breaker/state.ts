/**
 * The breaker's state as a discriminated union: each state holds only what it means. Every transition
 * makes a new state object, so a call remembers the object it was admitted under and its outcome counts
 * only while that object is still the current one (no separate epoch counter).
 */

import type { SwitchPosition } from './ports';

export type BreakerState = 'closed' | 'open' | 'half_open';

export type OpenReason = 'failures' | 'probe_failed' | 'shared' | 'operator';
export type CloseReason = 'probes_succeeded' | 'shared' | 'operator';
export type HalfOpenReason = 'recovery_timeout' | 'operator';

export interface Closed {
  readonly kind: 'closed';
}

export interface Open {
  readonly kind: 'open';
  /** Wall-clock ms when it opened (stats). */
  readonly openedAt: number;
  /** Wall-clock ms after which a probe may run: shared with other instances. Infinity: held by the operator. */
  openUntil: number;
  /** The same moment on the monotonic clock: what this instance decides by, so a clock step changes nothing. */
  probeAt: number;
}

export interface HalfOpen {
  readonly kind: 'half_open';
  readonly openedAt: number;
  /** Probe calls running now (each gives its slot back however it ends). */
  inFlight: number;
  /** Probe successes so far. */
  successes: number;
}

export type CircuitState = Closed | Open | HalfOpen;

/** A snapshot for /health, telemetry and `toJSON()`. */
export interface BreakerStats {
  name: string;
  state: BreakerState;
  /** Operator switch position last read ('auto' when none). */
  forced: SwitchPosition;
  openedAt: number | null;
  /** When the next probe may run (open state, wall-clock ms), else null. Infinity while an operator holds it open. */
  nextAttemptAt: number | null;
  halfOpen: { inFlight: number; successes: number };
  counts: { calls: number; successes: number; failures: number; timeouts: number; rejections: number; fallbacks: number; ignoredErrors: number; transitions: number; syncErrors: number; predicateErrors: number };
  strategy: Record<string, number>;
  shared: { kind: string; version: number } | null;
}
