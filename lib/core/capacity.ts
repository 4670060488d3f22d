import * as z from './zod';
import { DomainError } from './errors';
import { parseOrThrow } from './validation-util';

export const capacityInputSchema = z.strictObject({
  /** Events to copy. */
  totalEvents: z.number().check(z.int(), z.nonnegative()),
  /** Bulk copy rate, events per second. */
  copyRatePerSecond: z.number().check(z.positive()),
  /** Events the target is behind when the bulk copy ends, besides what arrived during it. Default 100. */
  lagEvents: z._default(z.number().check(z.nonnegative()), 100),
  /** New events per second on the source while copying: they pile up as catch-up backlog. Default 0. */
  writeRatePerSecond: z._default(z.number().check(z.nonnegative()), 0),
  /** How fast the target catches up (dual-write apply rate). Default: the copy rate. */
  catchUpRatePerSecond: z.optional(z.number().check(z.positive())),
  /** Write pause during cutover, seconds. Default 5. */
  cutoverPauseSeconds: z._default(z.number().check(z.nonnegative()), 5),
  /** Safety margin applied to the sum. Default 1.5. */
  bufferFactor: z._default(z.number().check(z.gte(1), z.lte(10)), 1.5),
});
export type CapacityInput = z.input<typeof capacityInputSchema>;

export interface CapacityEstimate {
  bulkCopySeconds: number;
  /** Events behind when the bulk copy ends: the lag plus the writes that arrived meanwhile. */
  backlogEvents: number;
  catchUpSeconds: number;
  cutoverSeconds: number;
  /** Sum of the three phases, before the buffer. */
  rawTotalSeconds: number;
  bufferFactor: number;
  /** rawTotalSeconds × bufferFactor. */
  totalSeconds: number;
}

/**
 * How long a migration takes: bulk copy (events ÷ copy rate), catch-up (the backlog ÷ the rate the target
 * gains on the source, i.e. catch-up rate minus write rate), cutover pause; the sum times a buffer factor.
 * With no writes during the copy this is the classic estimate: lag ÷ rate for the catch-up.
 * A write rate at or above the catch-up rate never converges: that is an error, not an infinite ETA.
 */
export function planCapacity(input: CapacityInput): CapacityEstimate {
  const i = parseOrThrow(capacityInputSchema, input, 'capacity input');
  const bulkCopySeconds = i.totalEvents / i.copyRatePerSecond;
  const catchUpRate = i.catchUpRatePerSecond ?? i.copyRatePerSecond;
  const gain = catchUpRate - i.writeRatePerSecond;
  if (gain <= 0) {
    throw new DomainError(
      'validation_failed',
      `catch-up never finishes: the source takes ${i.writeRatePerSecond} events/s and the target applies only ${catchUpRate} events/s; raise the catch-up rate or lower the write rate`,
    );
  }
  const backlogEvents = i.lagEvents + i.writeRatePerSecond * bulkCopySeconds;
  const catchUpSeconds = backlogEvents / gain;
  const rawTotalSeconds = bulkCopySeconds + catchUpSeconds + i.cutoverPauseSeconds;
  return {
    bulkCopySeconds: r3(bulkCopySeconds),
    backlogEvents: Math.round(backlogEvents),
    catchUpSeconds: r3(catchUpSeconds),
    cutoverSeconds: i.cutoverPauseSeconds,
    rawTotalSeconds: r3(rawTotalSeconds),
    bufferFactor: i.bufferFactor,
    totalSeconds: r3(rawTotalSeconds * i.bufferFactor),
  };
}

/** What the tracker knows about a phase that reports event counts (the log watcher puts them in its metadata). */
export interface MeasuredPhase {
  id: string;
  status: string;
  startedAt?: number;
  completedAt?: number;
  metadata: Record<string, unknown>;
}

export interface MeasuredCapacity {
  phaseId: string;
  eventsCopied: number;
  eventsTotal: number;
  /** Events per second so far: copied ÷ time since the phase started (to its end once completed). */
  measuredRatePerSecond: number;
  /** The planner on what is left, at the measured rate. */
  remaining: CapacityEstimate;
  estimatedCompletion: string;
}

/**
 * The planner fed with the measured copy rate: for the phase that reports `eventsCopied`/`eventsTotal`
 * (the bulk copy), the rate so far gives the remaining copy time, then the same catch-up, cutover and
 * buffer as `planCapacity`. Null until there is a rate to measure.
 */
export function measuredCapacity(
  phases: MeasuredPhase[],
  now: number,
  rest: Omit<CapacityInput, 'totalEvents' | 'copyRatePerSecond'> = {},
): MeasuredCapacity | null {
  const p = phases.find((x) => isCount(x.metadata['eventsCopied']) && isCount(x.metadata['eventsTotal']) && x.startedAt !== undefined);
  if (!p) return null;
  const copied = p.metadata['eventsCopied'] as number;
  const total = p.metadata['eventsTotal'] as number;
  const done = p.status === 'completed' || p.status === 'skipped';
  const elapsed = ((done ? (p.completedAt ?? now) : now) - p.startedAt!) / 1000;
  if (copied <= 0 || elapsed <= 0) return null;
  const rate = copied / elapsed;
  const remaining = planCapacity({ ...rest, totalEvents: done ? 0 : Math.max(0, Math.round(total - copied)), copyRatePerSecond: rate });
  return {
    phaseId: p.id,
    eventsCopied: copied,
    eventsTotal: total,
    measuredRatePerSecond: r3(rate),
    remaining,
    estimatedCompletion: new Date(now + remaining.totalSeconds * 1000).toISOString(),
  };
}

/** 7384 → `2 h 3 min`, 95 → `1 min 35 s`, 4.2 → `4.2 s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Number(seconds.toPrecision(2))} s`;
  if (seconds < 60) return `${Number(seconds.toFixed(1))} s`;
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const parts = d ? [`${d} d`, `${h} h`] : h ? [`${h} h`, `${m} min`] : [`${m} min`, `${sec} s`];
  return parts.filter((x) => !/^0 /.test(x)).join(' ') || '0 s';
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const r3 = (n: number) => Math.round(n * 1000) / 1000;
