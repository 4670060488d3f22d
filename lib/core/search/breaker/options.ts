import { randomUUID } from 'node:crypto';
import * as z from '../../zod';
import { formatZodError } from '../../validation-util';
import { defaultIsFailure } from './errors';
import { rethrowOutsideCall, type ListenerErrorHandler } from './events';
import type { BreakerStateStore, OperatorSwitch } from './ports';
import { AnyOf, ConsecutiveFailures, ErrorRateWindow, type BreakingStrategy } from './strategies';
import { systemTimers, type BreakerTimers } from './timers';

export interface BreakerOptions {
  /** Used in events, stats, metrics and the shared-state key. */
  name: string;
  /** Per-call timeout in ms; the call's signal aborts and the call counts as a failure. false: none. */
  timeoutMs?: number | false;
  /** Opens after this many failures in a row. false: not used. */
  consecutiveFailures?: number | false;
  /** Opens when the failure share of the rolling window reaches this percentage... false: not used. */
  errorThresholdPercent?: number | false;
  /** ...once the window holds at least this many calls. */
  minimumRequests?: number;
  /** Rolling window length in ms. */
  rollingWindowMs?: number;
  /** Buckets in the rolling window. */
  rollingBuckets?: number;
  /** How long the breaker stays open before probing (the recovery timeout), ms. */
  resetTimeoutMs?: number;
  /** Probe calls allowed in flight at once while half-open; the rest are rejected. */
  halfOpenMaxCalls?: number;
  /** Probe successes that close the breaker. */
  successThreshold?: number;
  /**
   * Which errors count as failures. Non-failures are rethrown without fallback and count as "the backend
   * answered" for the breaking strategy and probes. Timeouts are always failures. A predicate that throws
   * counts the error as a failure and is reported as a `predicate-error` event.
   */
  isFailure?: (error: unknown) => boolean;
  /** Replaces the strategy built from consecutiveFailures / errorThresholdPercent. */
  strategy?: BreakingStrategy;
  /** Wall clock, monotonic clock and timers (tests pass ManualTimers). */
  clock?: BreakerTimers;
  /** Shared state so many instances open together (see docs/search-proxy.md for the trade-offs). */
  stateStore?: BreakerStateStore;
  /** How often the shared state is read, ms. */
  sharedSyncMs?: number;
  /** Operator override (Parameter Store on AWS). */
  operatorSwitch?: OperatorSwitch;
  /** How often the operator switch is read, ms. */
  switchRefreshMs?: number;
  /** Names this instance in shared-state records. */
  instanceId?: string;
  /** Told about exceptions thrown by event listeners. */
  onListenerError?: ListenerErrorHandler;
}

/**
 * Every default, written down (opossum's habit): 10 s timeout; opens after 5 failures in a row or at 50%
 * of >= 20 calls in a 10 s window of 10 buckets; 30 s open; 1 probe at a time, 1 success closes; shared
 * state read every 2 s, the operator switch every 5 s; no shared state, no switch, a random instance id;
 * failures by `defaultIsFailure`, system time (`Date.now`, `performance.now`, unref'd timers), listener
 * errors rethrown outside the call.
 */
export const BREAKER_DEFAULTS = {
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
  isFailure: defaultIsFailure,
  clock: systemTimers,
  onListenerError: rethrowOutsideCall,
} as const satisfies Partial<BreakerOptions>;

/** Options with every default applied and the strategy built. `timeoutMs` 0 means none. */
export interface ResolvedBreakerOptions {
  name: string;
  timeoutMs: number;
  resetTimeoutMs: number;
  halfOpenMaxCalls: number;
  successThreshold: number;
  isFailure: (error: unknown) => boolean;
  strategy: BreakingStrategy;
  clock: BreakerTimers;
  stateStore: BreakerStateStore | undefined;
  operatorSwitch: OperatorSwitch | undefined;
  sharedSyncMs: number;
  switchRefreshMs: number;
  instanceId: string;
  onListenerError: ListenerErrorHandler;
}

const posInt = z.number().check(z.int(), z.positive());
const optionsSchema = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(200)),
  timeoutMs: z.optional(z.union([z.literal(false), posInt])),
  consecutiveFailures: z.optional(z.union([z.literal(false), posInt])),
  errorThresholdPercent: z.optional(z.union([z.literal(false), z.number().check(z.gt(0), z.lte(100))])),
  minimumRequests: z.optional(posInt),
  rollingWindowMs: z.optional(posInt),
  rollingBuckets: z.optional(posInt),
  resetTimeoutMs: z.optional(posInt),
  halfOpenMaxCalls: z.optional(posInt),
  successThreshold: z.optional(posInt),
  sharedSyncMs: z.optional(posInt),
  switchRefreshMs: z.optional(posInt),
  instanceId: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
});

/** Validate (RangeError naming the bad option) and fill in the defaults. */
export function resolveBreakerOptions(options: BreakerOptions): ResolvedBreakerOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new RangeError(`invalid circuit breaker options: ${formatZodError(parsed.error)}`);
  const o = { ...BREAKER_DEFAULTS, ...stripUndefined(options) };
  return {
    name: o.name,
    timeoutMs: o.timeoutMs === false ? 0 : o.timeoutMs,
    resetTimeoutMs: o.resetTimeoutMs,
    halfOpenMaxCalls: o.halfOpenMaxCalls,
    successThreshold: o.successThreshold,
    isFailure: o.isFailure,
    strategy: o.strategy ?? buildStrategy(o),
    clock: o.clock,
    stateStore: o.stateStore,
    operatorSwitch: o.operatorSwitch,
    sharedSyncMs: o.sharedSyncMs,
    switchRefreshMs: o.switchRefreshMs,
    instanceId: o.instanceId ?? randomUUID(),
    onListenerError: o.onListenerError,
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

type StrategyInputs = Required<Pick<BreakerOptions, 'name' | 'consecutiveFailures' | 'errorThresholdPercent' | 'rollingWindowMs' | 'rollingBuckets' | 'minimumRequests'>>;

function buildStrategy(o: StrategyInputs): BreakingStrategy {
  const parts: BreakingStrategy[] = [];
  if (o.consecutiveFailures !== false) parts.push(new ConsecutiveFailures(o.consecutiveFailures));
  if (o.errorThresholdPercent !== false) {
    parts.push(new ErrorRateWindow({ windowMs: o.rollingWindowMs, buckets: o.rollingBuckets, thresholdPercent: o.errorThresholdPercent, minimumRequests: o.minimumRequests }));
  }
  if (!parts.length) throw new RangeError(`circuit breaker "${o.name}" has no way to open: set consecutiveFailures, errorThresholdPercent or strategy`);
  return parts.length === 1 ? parts[0]! : new AnyOf(parts);
}
