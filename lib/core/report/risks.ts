import type { MigrationState } from '../model';
import { isOverdue, validationVerdict } from '../tracker/operations';
import type { Estimate } from '../progress';
import { isStalled, openCriticalAlerts, phaseFailureHealth, type HealthThresholds } from '../tracker/views';
import { duration, when } from './time-format';
import type { ActivityDigest, ReportSummary } from './summary';

export type RiskKind = 'failed-phase' | 'conflict' | 'critical-alert' | 'validation' | 'error-rate' | 'stalled' | 'stale' | 'eta-slip';
export type RiskLevel = 'critical' | 'high' | 'medium';

/** A risk a stakeholder should know about: what, why we think so, and where to look. */
export interface Risk {
  /** Stable across reports (`kind` or `kind:phase`), so the next report can say which risks are new or gone. */
  id: string;
  kind: RiskKind;
  level: RiskLevel;
  title: string;
  why: string;
  lookAt: string;
  phaseId?: string;
}

export interface RiskInput {
  state: MigrationState;
  now: number;
  thresholds: HealthThresholds;
  estimate: Estimate;
  plannedCompletion: number | null;
  etaSlipPercent: number;
  digest: ActivityDigest;
  previous: ReportSummary | null;
}

const LEVEL_RANK: Record<RiskLevel, number> = { critical: 0, high: 1, medium: 2 };
const KIND_RANK: Record<RiskKind, number> = {
  'failed-phase': 0,
  conflict: 1,
  'critical-alert': 2,
  validation: 3,
  'error-rate': 4,
  stalled: 5,
  stale: 6,
  'eta-slip': 7,
};

/** Every risk found in the state and activity, most serious first. */
export function findRisks(x: RiskInput): Risk[] {
  const risks = [
    ...failedPhases(x),
    ...conflicts(x),
    ...criticalAlerts(x),
    ...validation(x),
    ...errorRate(x),
    ...stalledPhases(x),
    ...etaSlip(x),
  ];
  return risks.sort((a, b) => LEVEL_RANK[a.level] - LEVEL_RANK[b.level] || KIND_RANK[a.kind] - KIND_RANK[b.kind] || a.id.localeCompare(b.id));
}

function failedPhases({ state }: RiskInput): Risk[] {
  return state.phases
    .filter((p) => p.status === 'failed')
    .map((p) => ({
      id: `failed-phase:${p.id}`,
      kind: 'failed-phase',
      // the same weight as the health badge: critical when it makes the migration unhealthy
      level: phaseFailureHealth(p) === 'unhealthy' ? 'critical' : 'high',
      phaseId: p.id,
      title: `Phase "${p.name}" failed`,
      why: `It failed${p.completedAt ? ` at ${iso(p.completedAt)}` : ''} after ${p.attempts} attempt(s): ${p.error ?? 'no reason given'}.${blockedBy(state, p.id)}`,
      lookAt: `The phase error and the activity for "${p.id}"; fix the cause, then restart it (start_phase retries a failed phase) or skip it with a reason.`,
    }));
}

function blockedBy(s: MigrationState, id: string): string {
  const waiting = s.phases.filter((p) => p.status === 'pending' && p.dependencies.includes(id)).map((p) => p.id);
  return waiting.length ? ` Blocked until it is fixed: ${waiting.join(', ')}.` : '';
}

function conflicts({ state, digest }: RiskInput): Risk[] {
  const out: Risk[] = [];
  for (const [phaseId, runs] of digest.runIds) {
    const p = state.phases.find((x) => x.id === phaseId)!;
    const ids = new Set(runs);
    if (p.runId) ids.add(p.runId);
    if (ids.size < 2) continue;
    out.push({
      id: `conflict:${phaseId}`,
      kind: 'conflict',
      level: 'critical',
      phaseId,
      title: `Two runs are working phase "${p.name}"`,
      why: `Runs ${[...ids].sort().map((r) => `"${r}"`).join(', ')} reported on it since it started${p.runId ? ` (it was started by "${p.runId}")` : ''}; they can overwrite each other's work.`,
      lookAt: `Which jobs are running "${phaseId}" (schedulers, CI, a manual re-run); stop all but one and check the data they both touched.`,
    });
  }
  const flagged = new Set(out.map((r) => r.phaseId));
  const seen = new Set<string>();
  for (const a of digest.conflicts) {
    const key = a.phaseId ?? '';
    if (flagged.has(key) || seen.has(key)) continue;
    seen.add(key);
    out.push({
      id: a.phaseId ? `conflict:${a.phaseId}` : 'conflict',
      kind: 'conflict',
      level: 'critical',
      ...(a.phaseId ? { phaseId: a.phaseId } : {}),
      title: a.phaseId ? `Conflicting work on phase "${a.phaseId}"` : 'Conflicting migration work detected',
      why: `${a.actor} reported at ${iso(a.at)}: ${a.message}`,
      lookAt: 'The activity log around that time and the processes running the migration; stop the duplicate run.',
    });
  }
  return out;
}

function criticalAlerts({ state }: RiskInput): Risk[] {
  const open = openCriticalAlerts(state).sort((a, b) => a.createdAt - b.createdAt);
  if (!open.length) return [];
  const oldest = open[0]!;
  return [
    {
      id: 'critical-alert',
      kind: 'critical-alert',
      level: 'critical',
      title: `${open.length} critical alert(s) not acknowledged`,
      why: `Oldest open since ${iso(oldest.createdAt)} (${oldest.id}): ${oldest.message}`,
      lookAt: `The alerts panel of the dashboard (${open
        .slice(0, 5)
        .map((a) => a.id)
        .join(', ')}${open.length > 5 ? ', …' : ''}); handle each and acknowledge it so the next report knows.`,
    },
  ];
}

function validation({ state }: RiskInput): Risk[] {
  const v = state.lastValidation;
  if (!v) return [];
  const failed = v.checks.filter((c) => !c.passed);
  if (!failed.length && v.verdict === 'pass') return [];
  const names = failed.map((c) => `${c.name} (${c.summary})`);
  return [
    {
      id: 'validation',
      kind: 'validation',
      // critical when it is a cutover gate (the badge says unhealthy), high otherwise (degraded)
      level: validationVerdict(v).gate ? 'critical' : 'high',
      title: `${failed.length} validation check(s) failing${validationVerdict(v).gate ? ' (a cutover gate)' : ''}`,
      why: `The validation run of ${iso(v.at)}${v.runId ? ` (${v.runId})` : ''} ended "${v.verdict}": ${names.slice(0, 5).join('; ')}${names.length > 5 ? '; …' : ''}.`,
      lookAt: 'The validation report of that run for the failing checks and their evidence; do not cut over until they pass.',
    },
  ];
}

function errorRate({ state, thresholds }: RiskInput): Risk[] {
  const m = state.metrics;
  if (m.errorRate <= thresholds.errorRatePercent) return [];
  return [
    {
      id: 'error-rate',
      kind: 'error-rate',
      level: m.errorRate > 2 * thresholds.errorRatePercent ? 'critical' : 'high',
      title: `Error rate ${m.errorRate}% is over ${thresholds.errorRatePercent}%`,
      why: `${m.failedOperations} of ${m.failedOperations + m.successfulOperations} operations failed${state.metricsUpdatedAt ? ` (metrics of ${iso(state.metricsUpdatedAt)})` : ''}.`,
      lookAt: 'Target capacity and throttling, the failing operations in the job logs and recent alerts; pause the migration if the target rejects writes.',
    },
  ];
}

function stalledPhases({ state, now, thresholds }: RiskInput): Risk[] {
  const out: Risk[] = [];
  for (const p of state.phases) {
    if (p.stale || isOverdue(p, now, state.paused)) {
      const quiet = p.updatedAt !== undefined ? ` since ${iso(p.updatedAt)} (${minutes(now - p.updatedAt)})` : '';
      out.push({
        id: `stale:${p.id}`,
        kind: 'stale',
        level: 'high',
        phaseId: p.id,
        title: `Phase "${p.name}" went quiet`,
        why: `Its reporter promised an update${p.nextUpdateDueAt ? ` by ${iso(p.nextUpdateDueAt)}` : ''} and has said nothing${quiet}.`,
        lookAt: `Whether the job running "${p.id}" is alive and can reach the tracker API (network, token); its logs around the last update.`,
      });
    } else if (isStalled(p, now, thresholds, state.paused)) {
      const since = p.progressChangedAt ?? p.startedAt ?? now;
      const task = typeof p.metadata['currentTask'] === 'string' ? `, last task "${p.metadata['currentTask']}"` : '';
      out.push({
        id: `stalled:${p.id}`,
        kind: 'stalled',
        level: 'high',
        phaseId: p.id,
        title: `Phase "${p.name}" is stalled at ${p.progress}%`,
        why: `No progress for ${minutes(now - since)} (since ${iso(since)}; the limit is ${thresholds.stallMinutes} min)${task}.`,
        lookAt: `The job's logs for "${p.id}" (a lock, a throttled target, a retry loop) and the sub-tasks' progress.`,
      });
    }
  }
  return out;
}

function etaSlip({ state, now, estimate, plannedCompletion, etaSlipPercent, previous }: RiskInput): Risk[] {
  if (plannedCompletion === null || state.startedAt === undefined || estimate.estimatedCompletion === null) return [];
  const projected = Date.parse(estimate.estimatedCompletion);
  const plannedSpan = Math.max(1, plannedCompletion - state.startedAt);
  const slip = projected - plannedCompletion;
  const slipPct = (slip / plannedSpan) * 100;
  if (slipPct <= etaSlipPercent) return [];
  const prevEta = previous?.estimatedCompletion ? Date.parse(previous.estimatedCompletion) : null;
  const moved = prevEta !== null && projected > prevEta ? ` It moved ${duration(projected - prevEta)} later since the last report.` : '';
  const rate = estimate.rateVsPlan !== null ? ` Work is going at ${estimate.rateVsPlan}× the planned pace.` : '';
  return [
    {
      id: 'eta-slip',
      kind: 'eta-slip',
      level: slipPct > 50 ? 'high' : 'medium',
      title: `Completion slipping ${duration(slip)} behind plan`,
      why: `Projected end ${iso(projected)} vs planned ${iso(plannedCompletion)} (+${Math.round(slipPct)}% of the planned ${duration(plannedSpan)}; confidence ${estimate.confidence}).${rate}${moved}${now > plannedCompletion ? ' The planned end has already passed.' : ''}`,
      lookAt: 'The phase table: phases whose actual duration runs over their estimate; re-plan the remaining phases or add capacity.',
    },
  ];
}

const iso = (ms: number) => when(new Date(ms).toISOString());
const minutes = (ms: number) => `${Math.round(ms / 60000)} min`;
