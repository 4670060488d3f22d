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
  /** ISO time, or null until there is observed progress, while paused or failed, and once completed. */
  estimatedCompletion: string | null;
  /** Milliseconds from now; never negative. */
  remainingMs: number | null;
  /** ± this many milliseconds around `remainingMs` (the confidence band). */
  uncertaintyMs: number | null;
  /** The band's ends as ISO times. */
  earliestCompletion: string | null;
  latestCompletion: string | null;
  /** Plan minutes of work done per active minute, as observed (1 = on plan). */
  rateVsPlan: number | null;
  /** The rate the estimate uses: the observed one leaned on the plan until there is evidence, clamped to 0.1-10. */
  rateUsed: number | null;
  /** True when the observed rate was absurd and got clamped. */
  rateClamped: boolean;
  /** Remaining work in plan minutes. */
  remainingPlanMinutes: number;
  /** Progress reports the rate is drawn from. */
  samples: number;
  basis: 'observed-rate' | 'no-data' | 'completed' | 'paused' | 'failed';
  confidence: 'none' | 'low' | 'medium' | 'high';
  /** Why there is no ETA (paused, failed, no data), or null. */
  reason: string | null;
}

/** The observed rate is clamped to this many times faster or slower than the plan. */
export const RATE_CLAMP = 10;

/**
 * An honest ETA from the observed rate. Work done (in plan minutes, i.e. estimate x progress) over the active
 * time spent (wall clock since the first start, minus paused time) is the observed rate. A phase that
 * completes in a second must not make a 690-minute plan "finish in a minute", so the plan itself counts as a
 * prior observation of 10 % of the plan (5-60 plan minutes) at rate 1, which the evidence outweighs as it
 * grows; the result is clamped to 0.1-10x the plan. Confidence grows with active time, the share of the
 * expected duration already behind us, and the number of progress reports; the band (± uncertaintyMs) shrinks
 * with the same. No ETA while paused or failed: `reason` says why. Never in the past.
 */
export function estimate(s: MigrationState, now: number): Estimate {
  const counted = s.phases.filter((p) => p.status !== 'skipped');
  const remainingPlan = counted.reduce(
    (a, p) => a + (p.status === 'completed' ? 0 : p.estimatedDuration * (1 - p.progress / 100)),
    0,
  );
  const samples = s.progressSamples ?? counted.filter((p) => p.status === 'completed' || p.progress > 0).length;
  const none = (basis: Estimate['basis'], reason: string | null, remainingMs: number | null = null): Estimate => ({
    estimatedCompletion: null,
    remainingMs,
    uncertaintyMs: null,
    earliestCompletion: null,
    latestCompletion: null,
    rateVsPlan: null,
    rateUsed: null,
    rateClamped: false,
    remainingPlanMinutes: round2(remainingPlan),
    samples,
    basis,
    confidence: basis === 'completed' ? 'high' : 'none',
    reason,
  });
  const status = migrationStatus(s);
  if (status === 'completed') return none('completed', null, 0);
  if (status === 'failed') {
    const f = s.phases.filter((p) => p.status === 'failed').map((p) => `"${p.id}" failed: ${p.error ?? 'no reason given'}`);
    return none('failed', `phase ${f.join('; ')}: no ETA until it is retried or skipped`);
  }
  if (status === 'paused') {
    const why = [...s.controlEvents].reverse().find((e) => e.type === 'pause')?.reason;
    return none('paused', `paused${why ? `: ${why}` : ''}: no ETA until it resumes`);
  }
  const donePlan = counted.reduce((a, p) => a + p.estimatedDuration * ((p.status === 'completed' ? 100 : p.progress) / 100), 0);
  const activeMin = activeElapsedMs(s, now) / 60000;
  if (!s.startedAt || donePlan <= 0 || activeMin <= 0) return none('no-data', 'no progress observed yet');
  const observed = donePlan / activeMin;
  const prior = Math.min(60, Math.max(5, 0.1 * (donePlan + remainingPlan)));
  const blended = (donePlan + prior) / (activeMin + prior);
  const rate = Math.min(RATE_CLAMP, Math.max(1 / RATE_CLAMP, blended));
  const remainingMs = Math.max(0, Math.round((remainingPlan / rate) * 60000));
  const elapsedShare = activeMin / (activeMin + remainingMs / 60000);
  const confidence =
    samples >= 10 && activeMin >= 30 && elapsedShare >= 0.5 ? 'high' : samples >= 4 && activeMin >= 10 && elapsedShare >= 0.15 ? 'medium' : 'low';
  const relative = Math.min(1, 0.5 * (1 - elapsedShare) + 0.3 / Math.sqrt(Math.max(1, samples)));
  const uncertaintyMs = Math.round(remainingMs * relative);
  return {
    estimatedCompletion: new Date(now + remainingMs).toISOString(),
    remainingMs,
    uncertaintyMs,
    earliestCompletion: new Date(now + remainingMs - uncertaintyMs).toISOString(),
    latestCompletion: new Date(now + remainingMs + uncertaintyMs).toISOString(),
    rateVsPlan: round2(observed),
    rateUsed: round2(rate),
    rateClamped: blended !== rate,
    remainingPlanMinutes: round2(remainingPlan),
    samples,
    basis: 'observed-rate',
    confidence,
    reason: null,
  };
}

/** A remaining time as a person reads it: `20 s`, `45 min`, `2 h 10 min`, `1 d 2 h`. */
export function formatRemaining(ms: number): string {
  const a = Math.max(0, ms);
  if (a < 60000) return `${Math.round(a / 1000)} s`;
  const totalMin = Math.round(a / 60000);
  if (totalMin < 60) return `${totalMin} min`;
  const h = Math.floor(totalMin / 60);
  if (h < 24) return totalMin % 60 ? `${h} h ${totalMin % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

export function activeElapsedMs(s: MigrationState, now: number): number {
  if (!s.startedAt) return 0;
  const pausedNow = s.paused && s.pausedAt ? now - s.pausedAt : 0;
  return Math.max(0, now - s.startedAt - s.pausedMs - pausedNow);
}

export const round2 = (n: number) => Math.round(n * 100) / 100;
