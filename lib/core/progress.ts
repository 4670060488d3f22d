import type { MigrationState, MigrationStatus, PhaseState, SubTaskState } from './model';

const done = (s: { status: string }) => s.status === 'completed' || s.status === 'skipped';

/** Progress weighted by estimated duration; skipped items drop out of the weighting (all skipped = 100). */
function weightedProgress(items: Array<{ status: string; progress: number; estimatedDuration: number }>): number {
  const counted = items.filter((x) => x.status !== 'skipped');
  if (counted.length === 0) return items.length ? 100 : 0;
  const total = counted.reduce((a, x) => a + x.estimatedDuration, 0);
  const doneW = counted.reduce((a, x) => a + x.estimatedDuration * (x.status === 'completed' ? 100 : x.progress), 0);
  return round2(doneW / total);
}

/** Progress of a phase with sub-tasks, weighted by the sub-tasks' estimates. */
export function derivePhaseProgress(subTasks: SubTaskState[]): number {
  return weightedProgress(subTasks);
}

/** Overall progress, weighted by each phase's estimated duration. */
export function overallProgress(phases: PhaseState[]): number {
  return weightedProgress(phases);
}

export function migrationStatus(s: MigrationState): MigrationStatus {
  // a rollback is the operator's word on the migration: it holds until the next cutover
  if (s.cutover?.rolledBack) return 'rolled_back';
  if (s.phases.every(done)) return 'completed';
  if (s.phases.some((p) => p.status === 'failed')) return 'failed';
  if (s.paused) return 'paused';
  if (s.phases.some((p) => p.status !== 'pending')) return 'in_progress';
  return 'not_started';
}

export interface Estimate {
  /** ISO time, or null until there is observed progress (and once the migration is completed). */
  estimatedCompletion: string | null;
  /** Milliseconds from now; never negative. */
  remainingMs: number | null;
  /** Plan minutes of work done per wall-clock minute so far (1 = on plan). */
  rateVsPlan: number | null;
  /** Remaining work in plan minutes. */
  remainingPlanMinutes: number;
  basis: 'observed-rate' | 'no-data' | 'completed';
  confidence: 'none' | 'low' | 'medium' | 'high';
}

/**
 * ETA from the observed rate: work done (in plan minutes, i.e. estimate × progress) divided by the active
 * time spent (wall clock since the first start, minus paused time) gives a rate; the remaining plan minutes
 * divided by that rate give the time left. Null until something has progressed; never in the past.
 */
export function estimate(s: MigrationState, now: number): Estimate {
  const counted = s.phases.filter((p) => p.status !== 'skipped');
  const remainingPlan = counted.reduce(
    (a, p) => a + (p.status === 'completed' ? 0 : p.estimatedDuration * (1 - p.progress / 100)),
    0,
  );
  if (migrationStatus(s) === 'completed') {
    return { estimatedCompletion: null, remainingMs: 0, rateVsPlan: null, remainingPlanMinutes: 0, basis: 'completed', confidence: 'high' };
  }
  const donePlan = counted.reduce(
    (a, p) => a + p.estimatedDuration * ((p.status === 'completed' ? 100 : p.progress) / 100),
    0,
  );
  const activeMs = activeElapsedMs(s, now);
  if (!s.startedAt || donePlan <= 0 || activeMs <= 0) {
    return { estimatedCompletion: null, remainingMs: null, rateVsPlan: null, remainingPlanMinutes: round2(remainingPlan), basis: 'no-data', confidence: 'none' };
  }
  const rate = donePlan / (activeMs / 60000); // plan minutes per real minute
  const remainingMs = Math.max(0, Math.round((remainingPlan / rate) * 60000));
  const total = donePlan + remainingPlan;
  const fractionDone = total > 0 ? donePlan / total : 0;
  const confidence = fractionDone >= 0.5 ? 'high' : fractionDone >= 0.15 ? 'medium' : 'low';
  return {
    estimatedCompletion: new Date(now + remainingMs).toISOString(),
    remainingMs,
    rateVsPlan: round2(rate),
    remainingPlanMinutes: round2(remainingPlan),
    basis: 'observed-rate',
    confidence,
  };
}

export function activeElapsedMs(s: MigrationState, now: number): number {
  if (!s.startedAt) return 0;
  const pausedNow = s.paused && s.pausedAt ? now - s.pausedAt : 0;
  return Math.max(0, now - s.startedAt - s.pausedMs - pausedNow);
}

export const round2 = (n: number) => Math.round(n * 100) / 100;
