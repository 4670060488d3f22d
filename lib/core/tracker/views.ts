/**
 * The tracker's views: pure functions of a stored migration and the time (overview, dashboard, timeline,
 * health). The service (service.ts) reads and writes; everything that describes a state lives here.
 */
import { isOverdue, validationVerdict } from './operations';
import { estimate, migrationStatus, overallProgress } from '../progress';
import { measuredCapacity } from '../capacity';
import type { ActivityEntry, Alert, MigrationState, PhaseState } from '../model';

export interface HealthThresholds {
  /** Error rate (percent) above which the migration is degraded. Default 10. */
  errorRatePercent: number;
  /** A running phase whose progress has not moved for this long is stalled (degraded). Default 30. */
  stallMinutes: number;
}
export const DEFAULT_THRESHOLDS: HealthThresholds = { errorRatePercent: 10, stallMinutes: 30 };

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';


export function alertCounts(alerts: Alert[], openOnly = true) {
  const c = { info: 0, warning: 0, error: 0, critical: 0 };
  for (const a of alerts) if (!openOnly || !a.acknowledged) c[a.severity] += 1;
  return c;
}

/**
 * The open critical alerts that weigh on health (and the report's risks) by themselves: not acknowledged, and
 * standing for no condition. An alert that stands for one (a failed phase, a failed validation, a stale
 * reporter) is in the health through that condition, and leaves it when the condition clears.
 */
export const openCriticalAlerts = (s: Pick<MigrationState, 'alerts'>): Alert[] => s.alerts.filter((a) => a.severity === 'critical' && !a.acknowledged && !a.condition);

/** Progress unchanged past the threshold. Never while paused (resume moves the clock on by the paused time). */
export function isStalled(p: PhaseState, now: number, t: HealthThresholds, paused: boolean): boolean {
  return !paused && p.status === 'in_progress' && now - (p.progressChangedAt ?? p.startedAt ?? now) > t.stallMinutes * 60000;
}

export function overviewOf(s: MigrationState, now: number, t: HealthThresholds = DEFAULT_THRESHOLDS) {
  const running = s.phases.filter((p) => p.status === 'in_progress');
  return {
    migrationId: s.id,
    name: s.name,
    status: migrationStatus(s),
    paused: s.paused,
    overallProgress: overallProgress(s.phases),
    currentPhases: running.map((p) => p.id),
    startedAt: isoOpt(s.startedAt),
    completedAt: isoOpt(s.completedAt),
    updatedAt: new Date(s.updatedAt).toISOString(),
    estimate: estimate(s, now),
    phases: s.phases.map((p) => ({
      id: p.id,
      name: p.name,
      status: p.status,
      progress: p.progress,
      stale: p.stale || isOverdue(p, now, s.paused),
      stalled: isStalled(p, now, t, s.paused),
      dependencies: p.dependencies,
      estimatedDuration: p.estimatedDuration,
      actualDuration: p.actualDuration ?? (p.startedAt && p.status === 'in_progress' ? Math.round((now - p.startedAt) / 600) / 100 : undefined),
      currentTask: typeof p.metadata['currentTask'] === 'string' ? p.metadata['currentTask'] : undefined,
      error: p.error,
      skipReason: p.skipReason,
      subTasks: p.subTasks.map((x) => ({ id: x.id, name: x.name, status: x.status, progress: x.progress })),
    })),
    openAlerts: alertCounts(s.alerts),
    metrics: s.metrics,
    /** The same health as /health (healthOf), so `status` and the dashboard never disagree with it. */
    health: (({ status, reasons }) => ({ status, reasons }))(healthOf(s, now, t)),
    /** Metric fields ever reported; the others are unknown, not zero. */
    metricsReported: s.metricsReported ?? [],
  };
}

export function dashboardOf(s: MigrationState, activity: ActivityEntry[], now: number, t: HealthThresholds = DEFAULT_THRESHOLDS) {
  return {
    ...overviewOf(s, now, t),
    health: healthOf(s, now, t),
    /** The health thresholds (the dashboard draws the error-rate one on its chart). */
    thresholds: t,
    phaseDetails: s.phases.map((p) => ({
      ...p,
      startedAt: isoOpt(p.startedAt),
      completedAt: isoOpt(p.completedAt),
      updatedAt: isoOpt(p.updatedAt),
      nextUpdateDueAt: isoOpt(p.nextUpdateDueAt),
      progressChangedAt: isoOpt(p.progressChangedAt),
      subTasks: p.subTasks.map((x) => ({ ...x, startedAt: isoOpt(x.startedAt), completedAt: isoOpt(x.completedAt), updatedAt: isoOpt(x.updatedAt) })),
    })),
    timeline: timelineOf(s, now),
    alerts: [...s.alerts]
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, 100)
      .map((a) => ({ ...a, createdAt: new Date(a.createdAt).toISOString(), acknowledgedAt: isoOpt(a.acknowledgedAt) })),
    controlEvents: s.controlEvents.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
    recentActivity: activity
      .slice()
      .reverse()
      .map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
    metricsUpdatedAt: isoOpt(s.metricsUpdatedAt),
    lastValidation: s.lastValidation ? { ...s.lastValidation, at: new Date(s.lastValidation.at).toISOString() } : undefined,
    notifications: notificationsSummary(s),
    cutover: s.cutover ? { ...s.cutover, at: new Date(s.cutover.at).toISOString() } : undefined,
  };
}

/** Alert delivery as people need to see it: what waits, what failed (and why), what was given up. */
export function notificationsSummary(s: MigrationState) {
  const n = s.notifications;
  if (!n) return { pending: 0, retrying: 0, delivered: {}, failed: {}, dropped: 0 };
  return {
    pending: n.outbox.length,
    retrying: n.outbox.filter((o) => o.attempts > 0).length,
    delivered: n.delivered,
    failed: n.failed,
    dropped: n.dropped,
    ...(n.lastFailure ? { lastFailure: { ...n.lastFailure, at: new Date(n.lastFailure.at).toISOString() } } : {}),
    openIncidents: n.incidents.filter((i) => i.state === 'open').map((i) => ({ severity: i.severity, message: i.message, count: i.count, delivered: i.delivered, reminders: i.reminders })),
  };
}

/** Planned vs actual windows per phase: planned from the plan's critical path starting at the first start. */
export function timelineOf(s: MigrationState, now: number) {
  const origin = s.startedAt ?? now;
  const plannedEnd = new Map<string, number>();
  return s.phases.map((p) => {
    const start = Math.max(origin, ...p.dependencies.map((d) => plannedEnd.get(d) ?? origin));
    const end = start + p.estimatedDuration * 60000;
    plannedEnd.set(p.id, end);
    return {
      id: p.id,
      name: p.name,
      status: p.status,
      plannedStart: new Date(start).toISOString(),
      plannedEnd: new Date(end).toISOString(),
      actualStart: isoOpt(p.startedAt),
      actualEnd: isoOpt(p.completedAt),
    };
  });
}

const HEALTH_RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };
/** The health gauge's value (MigrationHealth): 0 healthy, 1 degraded, 2 unhealthy. */
export const healthValue = (h: HealthStatus): number => HEALTH_RANK[h];

/** A failed phase makes the migration unhealthy, unless a validation that is not a gate failed it (degraded). */
export const phaseFailureHealth = (p: PhaseState): HealthStatus => (p.failedBy?.kind === 'validation' && !p.failedBy.gate ? 'degraded' : 'unhealthy');

/**
 * The one health of a migration: /health, the dashboard, the report badge, CLI status and the MigrationHealth
 * gauge all read this. Unhealthy: a failed phase, or a failed validation that is a gate. Degraded: a failed
 * validation that is not a gate, a stale or stalled phase, the error rate over its threshold, an open critical alert
 * that stands for no condition of its own (one raised by hand or by a log rule).
 */
export function healthOf(s: MigrationState, now: number, t: HealthThresholds = DEFAULT_THRESHOLDS) {
  const reasons: string[] = [];
  let status: HealthStatus = 'healthy';
  const worsen = (to: HealthStatus, r: string) => {
    if (HEALTH_RANK[to] > HEALTH_RANK[status]) status = to;
    reasons.push(r);
  };
  for (const p of s.phases) {
    if (p.status !== 'failed') continue;
    const level = phaseFailureHealth(p);
    worsen(level, `phase "${p.id}" failed: ${p.error ?? 'no reason given'}${level === 'degraded' ? ' (a validation that is not a gate)' : ''}`);
  }
  const v = s.lastValidation;
  if (v?.verdict === 'fail') {
    const { failed, gate } = validationVerdict(v);
    worsen(
      gate ? 'unhealthy' : 'degraded',
      `validation run ${v.runId ?? new Date(v.at).toISOString()} failed: ${failed.join(', ') || 'no check passed'}${gate ? ' (a cutover gate: do not cut over)' : ' (not a gate)'}`,
    );
  }
  const degrade = (r: string) => worsen('degraded', r);
  for (const p of s.phases) {
    if (p.stale || isOverdue(p, now, s.paused)) degrade(`phase "${p.id}" is stale: no update since ${isoOpt(p.updatedAt)}`);
    else if (isStalled(p, now, t, s.paused)) degrade(`phase "${p.id}" stalled: progress unchanged for more than ${t.stallMinutes} min`);
  }
  if (s.metrics.errorRate > t.errorRatePercent) degrade(`error rate ${s.metrics.errorRate}% is over ${t.errorRatePercent}%`);
  const critical = openCriticalAlerts(s).length;
  if (critical) degrade(`${critical} critical alert(s) not acknowledged`);
  return { migrationId: s.id, status, reasons, overallProgress: overallProgress(s.phases), migrationStatus: migrationStatus(s) };
}

/** One row of the portfolio (every migration at a glance): status, health, progress, ETA, open alerts. */
export function portfolioRowOf(s: MigrationState, now: number, t: HealthThresholds = DEFAULT_THRESHOLDS) {
  const h = healthOf(s, now, t);
  const e = estimate(s, now);
  return {
    migrationId: s.id,
    name: s.name,
    status: h.migrationStatus,
    health: h.status,
    healthReasons: h.reasons,
    overallProgress: h.overallProgress,
    estimate: { estimatedCompletion: e.estimatedCompletion, remainingMs: e.remainingMs, uncertaintyMs: e.uncertaintyMs, confidence: e.confidence, basis: e.basis, reason: e.reason },
    openAlerts: alertCounts(s.alerts),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}

/** The completion estimate of a migration: overall, per phase, and the capacity planner's view of the copy. */
export function estimateOf(s: MigrationState, now: number) {
  return {
    migrationId: s.id,
    overallProgress: overallProgress(s.phases),
    status: migrationStatus(s),
    ...estimate(s, now),
    phases: phaseEstimates(s, now),
    /** Bulk copy / catch-up / cutover from the measured copy rate (phase metadata eventsCopied, eventsTotal), as `migration-monitor estimate` plans them. */
    capacity: measuredCapacity(s.phases, now),
  };
}

function phaseEstimates(s: MigrationState, now: number): Array<{ id: string; status: string; remainingMinutes: number | null }> {
  return s.phases.map((p) => {
    if (p.status === 'completed' || p.status === 'skipped') return { id: p.id, status: p.status, remainingMinutes: 0 };
    if (p.status === 'in_progress' && p.startedAt && p.progress > 0) {
      const elapsedMin = (now - p.startedAt) / 60000;
      return { id: p.id, status: p.status, remainingMinutes: Math.max(0, Math.round(((elapsedMin * (100 - p.progress)) / p.progress) * 100) / 100) };
    }
    return { id: p.id, status: p.status, remainingMinutes: null };
  });
}

const isoOpt = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
