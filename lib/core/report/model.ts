import type { ActivityEntry, Alert, AlertSeverity, MigrationMetrics, MigrationState, MigrationStatus } from '../model';
import { ALERT_SEVERITIES } from '../model';
import type { Estimate } from '../progress';
import { DEFAULT_THRESHOLDS, healthOf, overviewOf, timelineOf, type HealthStatus, type HealthThresholds } from '../tracker/views';
import { findRisks, type Risk } from './risks';
import type { ActivityDigest, ReportSummary } from './summary';

export interface ReportOptions {
  /** Include the metrics section (data migrated, speed, error rate...). CLI `--metrics`. */
  includeMetrics?: boolean;
  /** Stall and error-rate thresholds; default the tracker's (30 min, 10 %). */
  thresholds?: Partial<HealthThresholds>;
  /** The projected end may run this many percent of the planned duration past the planned end before it is a risk. Default 10. */
  etaSlipPercent?: number;
  /** How far back "recent activity" looks. Default 24 h. */
  activityWindowMs?: number;
  /** How many activity lines the report lists (all of the window is counted). Default 40. */
  activityLines?: number;
  /** How many open alerts the report lists. Default 30. */
  alertLines?: number;
  /** Time zone for the report's day (its idempotency key). Default UTC. */
  timeZone?: string;
  /** Explicit report id instead of `<migrationId>/<YYYY-MM-DD>` (e.g. a milestone report). */
  reportId?: string;
}

export interface ReportInput {
  state: MigrationState;
  /** The activity log, oldest first (one pass; entries outside the window only count toward conflicts). */
  activity: Iterable<ActivityEntry>;
  /** The summary of the previous report, for "how it moved since the last report". */
  previous?: ReportSummary | null;
  now: number;
  options?: ReportOptions;
  /** The migration's history over the window (GET …/history points): the report's trend charts. */
  history?: TrendInput[];
}

/** A history point as the report reads it (the tracker API's answer, ISO times). */
export interface TrendInput {
  t: string;
  overall: number;
  bytes: number;
  errorRate: number;
  remainingPlan: number;
  eta: string | null;
}

/** At most this many points per trend chart (one per hour of a day's report). */
export const TREND_POINTS = 24;


export interface ReportChange {
  previousReportId: string;
  since: string;
  statusBefore: MigrationStatus;
  statusChanged: boolean;
  /** Percentage points gained (negative after a reset). */
  progressDelta: number;
  /** How far the ETA moved: positive = later, negative = earlier; null when either ETA is unknown. */
  etaShiftMs: number | null;
  phasesCompleted: string[];
  phasesFailed: string[];
  phasesStarted: string[];
  newRisks: string[];
  resolvedRisks: string[];
}

export interface PhaseRow {
  id: string;
  name: string;
  status: string;
  progress: number;
  /** Minutes. */
  estimatedMinutes: number;
  /** Minutes so far (running) or in total (finished). */
  actualMinutes: number | null;
  /** (actual − estimated) / estimated × 100 for finished phases, and for running phases already over. */
  variancePercent: number | null;
  startedAt?: string;
  completedAt?: string;
  stalled: boolean;
  stale: boolean;
  currentTask?: string;
  error?: string;
  skipReason?: string;
}

export interface ActivityLine {
  at: string;
  actor: string;
  action: string;
  message: string;
  phaseId?: string;
}

export interface StatusReport {
  schemaVersion: 1;
  reportId: string;
  migrationId: string;
  name: string;
  generatedAt: string;
  summary: {
    status: MigrationStatus;
    paused: boolean;
    health: HealthStatus;
    healthReasons: string[];
    overallProgress: number;
    currentPhases: string[];
    startedAt?: string;
    completedAt?: string;
    /** When the plan says it should end (critical path from the first start). */
    plannedCompletion: string | null;
    estimate: Estimate;
    change: ReportChange | null;
  };
  phases: PhaseRow[];
  activity: {
    windowStart: string;
    /** Entries in the window. */
    total: number;
    byAction: Record<string, number>;
    /** Failures, pauses, acknowledgements and phase changes first (newest first within each), at most `activityLines`. */
    recent: ActivityLine[];
    /** Routine lines (metric updates, progress reports, report records) in the window, folded into one line. */
    folded: { count: number; latestAt: string } | null;
  };
  /** Up to 24 points over the window (last of each slice), oldest first; absent with fewer than 2 points. */
  trend?: TrendInput[];
  alerts: {
    open: Record<AlertSeverity, number>;
    /** Open alerts, most severe and newest first, at most `alertLines`. */
    items: Array<{ id: string; severity: AlertSeverity; message: string; phaseId?: string; createdAt: string }>;
  };
  metrics?: MigrationMetrics & { updatedAt?: string };
  validation?: { at: string; verdict: 'pass' | 'fail'; runId?: string; checks: Array<{ name: string; kind: string; passed: boolean; summary: string }> };
  risks: Risk[];
}


const DAY = 24 * 3600 * 1000;

export function buildStatusReport(input: ReportInput): StatusReport {
  const { state: s, now } = input;
  const o = input.options ?? {};
  const t: HealthThresholds = { ...DEFAULT_THRESHOLDS, ...o.thresholds };
  const ov = overviewOf(s, now, t);
  const health = healthOf(s, now, t);
  const windowStart = now - (o.activityWindowMs ?? DAY);
  const digest = digestActivity(s, input.activity, windowStart, o.activityLines ?? 40);
  const plannedCompletion = plannedEnd(s, now);

  const phases: PhaseRow[] = ov.phases.map((p) => {
    const full = s.phases.find((x) => x.id === p.id)!;
    const actual = p.actualDuration ?? null;
    const finished = p.status === 'completed' || p.status === 'failed';
    const over = actual !== null && actual > p.estimatedDuration;
    return {
      id: p.id,
      name: p.name,
      status: p.status,
      progress: p.progress,
      estimatedMinutes: p.estimatedDuration,
      actualMinutes: actual,
      variancePercent: actual !== null && (finished || over) ? Math.round(((actual - p.estimatedDuration) / p.estimatedDuration) * 100) : null,
      ...(full.startedAt !== undefined ? { startedAt: iso(full.startedAt) } : {}),
      ...(full.completedAt !== undefined ? { completedAt: iso(full.completedAt) } : {}),
      stalled: p.stalled,
      stale: p.stale,
      ...(p.currentTask ? { currentTask: p.currentTask } : {}),
      ...(p.error ? { error: p.error } : {}),
      ...(p.skipReason ? { skipReason: p.skipReason } : {}),
    };
  });

  const reportId = o.reportId ?? defaultReportId(s.id, now, o.timeZone);
  const risks = findRisks({
    state: s,
    now,
    thresholds: t,
    estimate: ov.estimate,
    plannedCompletion,
    etaSlipPercent: o.etaSlipPercent ?? 10,
    digest,
    previous: input.previous ?? null,
  });

  const report: StatusReport = {
    schemaVersion: 1,
    reportId,
    migrationId: s.id,
    name: s.name,
    generatedAt: iso(now),
    summary: {
      status: ov.status,
      paused: ov.paused,
      health: health.status,
      healthReasons: health.reasons,
      overallProgress: ov.overallProgress,
      currentPhases: ov.currentPhases,
      ...(ov.startedAt ? { startedAt: ov.startedAt } : {}),
      ...(ov.completedAt ? { completedAt: ov.completedAt } : {}),
      plannedCompletion: plannedCompletion === null ? null : iso(plannedCompletion),
      estimate: ov.estimate,
      change: null,
    },
    phases,
    activity: {
      windowStart: iso(windowStart),
      total: digest.total,
      byAction: Object.fromEntries([...digest.byAction.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
      recent: digest.recent.map((a) => ({ at: iso(a.at), actor: a.actor, action: a.action, message: a.message, ...(a.phaseId ? { phaseId: a.phaseId } : {}) })),
      folded: digest.routine.count ? { count: digest.routine.count, latestAt: iso(digest.routine.latestAt) } : null,
    },
    alerts: {
      open: ov.openAlerts,
      items: openAlerts(s.alerts)
        .slice(0, o.alertLines ?? 30)
        .map((a) => ({ id: a.id, severity: a.severity, message: a.message, ...(a.phaseId ? { phaseId: a.phaseId } : {}), createdAt: iso(a.createdAt) })),
    },
    risks,
  };
  if (o.includeMetrics) report.metrics = { ...s.metrics, ...(s.metricsUpdatedAt !== undefined ? { updatedAt: iso(s.metricsUpdatedAt) } : {}) };
  if (s.lastValidation) {
    const v = s.lastValidation;
    report.validation = { at: iso(v.at), verdict: v.verdict, ...(v.runId ? { runId: v.runId } : {}), checks: v.checks };
  }
  if (input.previous) report.summary.change = changeSince(input.previous, report);
  const trend = trendOf(input.history ?? [], windowStart, now);
  if (trend.length >= 2) report.trend = trend;
  return report;
}

/** The digest the next report compares against. */
export function summarize(r: StatusReport): ReportSummary {
  return {
    reportId: r.reportId,
    migrationId: r.migrationId,
    generatedAt: r.generatedAt,
    status: r.summary.status,
    overallProgress: r.summary.overallProgress,
    estimatedCompletion: r.summary.estimate.estimatedCompletion,
    phases: Object.fromEntries(r.phases.map((p) => [p.id, { status: p.status, progress: p.progress }])),
    openAlerts: { ...r.alerts.open },
    risks: r.risks.map((x) => x.id),
  };
}

/** `<migrationId>/<YYYY-MM-DD>` in the given time zone (default UTC): one report per migration and day. */
export function defaultReportId(migrationId: string, now: number, timeZone = 'UTC'): string {
  return `${migrationId}/${dayOf(now, timeZone)}`;
}

export function dayOf(now: number, timeZone = 'UTC'): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(now));
}

function changeSince(prev: ReportSummary, r: StatusReport): ReportChange {
  const was = (id: string) => prev.phases[id];
  const prevEta = prev.estimatedCompletion ? Date.parse(prev.estimatedCompletion) : null;
  const curEta = r.summary.estimate.estimatedCompletion ? Date.parse(r.summary.estimate.estimatedCompletion) : null;
  const riskIds = new Set(r.risks.map((x) => x.id));
  return {
    previousReportId: prev.reportId,
    since: prev.generatedAt,
    statusBefore: prev.status,
    statusChanged: prev.status !== r.summary.status,
    progressDelta: Math.round((r.summary.overallProgress - prev.overallProgress) * 100) / 100,
    etaShiftMs: prevEta !== null && curEta !== null ? curEta - prevEta : null,
    phasesCompleted: r.phases.filter((p) => p.status === 'completed' && was(p.id)?.status !== 'completed').map((p) => p.id),
    phasesFailed: r.phases.filter((p) => p.status === 'failed' && was(p.id)?.status !== 'failed').map((p) => p.id),
    phasesStarted: r.phases.filter((p) => p.status === 'in_progress' && (was(p.id)?.status ?? 'pending') === 'pending').map((p) => p.id),
    newRisks: r.risks.filter((x) => !prev.risks.includes(x.id)).map((x) => x.id),
    resolvedRisks: prev.risks.filter((id) => !riskIds.has(id)),
  };
}

/** One pass over the log: counts for the window, the last lines, run ids per running phase, conflict entries. */
export function digestActivity(s: MigrationState, activity: Iterable<ActivityEntry>, windowStart: number, keep: number): ActivityDigest {
  const running = new Map<string, number>();
  for (const p of s.phases) if (p.status === 'in_progress') running.set(p.id, p.startedAt ?? 0);
  const d: ActivityDigest = { total: 0, byAction: new Map(), recent: [], routine: { count: 0, latestAt: 0 }, runIds: new Map(), conflicts: [] };
  // Per rank (failures, pauses and acknowledgements, phase changes, the rest): a ring of its newest `keep` entries,
  // so an older failure is not pushed out by newer phase changes. Memory: 4 × keep entries.
  const rings: Array<{ items: ActivityEntry[]; n: number }> = [0, 1, 2, 3].map(() => ({ items: new Array(keep), n: 0 }));
  for (const a of activity) {
    if (a.phaseId !== undefined) {
      const since = running.get(a.phaseId);
      if (since !== undefined && a.at >= since) {
        const run = runIdOf(a);
        if (run !== undefined) {
          let set = d.runIds.get(a.phaseId);
          if (!set) d.runIds.set(a.phaseId, (set = new Set()));
          set.add(run);
        }
      }
    }
    if (a.at < windowStart) continue;
    d.total += 1;
    d.byAction.set(a.action, (d.byAction.get(a.action) ?? 0) + 1);
    if (ROUTINE_ACTIONS.has(a.action)) {
      d.routine.count += 1;
      d.routine.latestAt = Math.max(d.routine.latestAt, a.at);
    } else if (keep > 0) {
      const r = rings[activityRank(a.action)]!;
      r.items[r.n++ % keep] = a;
    }
    if (a.action.startsWith('conflict.') && d.conflicts.length < 20) d.conflicts.push(a);
  }
  for (const r of rings) {
    const count = Math.min(r.n, keep);
    for (let i = 0; i < count; i++) d.recent.push(r.items[(r.n - count + i) % keep]!);
  }
  d.recent.sort((a, b) => activityRank(a.action) - activityRank(b.action) || b.at - a.at);
  d.recent.splice(keep);
  return d;
}

/** Lines the report folds into one ("412 metric and progress updates"): they would hide failures and pauses. */
export const ROUTINE_ACTIONS = new Set(['metrics.update', 'phase.progress', 'subtask.progress', 'report.record']);

/** Failures first, then pauses, resumes and acknowledgements, then phase and migration changes, then the rest. */
export function activityRank(action: string): number {
  if (/fail|stale|conflict/.test(action)) return 0;
  if (/pause|resume|acknowledge/.test(action)) return 1;
  if (/^(phase|subtask|migration)\./.test(action)) return 2;
  return 3;
}

/** The history points of the window, at most TREND_POINTS of them (the last point of each equal slice). */
export function trendOf(points: TrendInput[], from: number, to: number): TrendInput[] {
  const inside = points.filter((p) => {
    const t = Date.parse(p.t);
    return t >= from && t <= to;
  });
  const slice = (to - from) / TREND_POINTS;
  const out: TrendInput[] = [];
  let last = -1;
  for (const p of inside) {
    const b = Math.min(TREND_POINTS - 1, Math.floor((Date.parse(p.t) - from) / slice));
    if (b === last) out[out.length - 1] = p;
    else out.push(p);
    last = b;
  }
  return out;
}

/** The run an entry speaks for: `details.runId` (set by reporters and the log watcher). */
function runIdOf(a: ActivityEntry): string | undefined {
  const r = a.details?.['runId'];
  return typeof r === 'string' && r.length > 0 ? r : undefined;
}

/** End of the plan's critical path from the first start (null before the migration starts). */
export function plannedEnd(s: MigrationState, now: number): number | null {
  if (s.startedAt === undefined) return null;
  let end = s.startedAt;
  for (const w of timelineOf(s, now)) {
    if (w.status === 'skipped') continue;
    end = Math.max(end, Date.parse(w.plannedEnd));
  }
  return end;
}

const SEVERITY_RANK: Record<AlertSeverity, number> = Object.fromEntries(ALERT_SEVERITIES.map((x, i) => [x, i])) as Record<AlertSeverity, number>;

function openAlerts(alerts: Alert[]): Alert[] {
  return alerts.filter((a) => !a.acknowledged).sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.createdAt - a.createdAt);
}

const iso = (ms: number) => new Date(ms).toISOString();
