/**
 * The tracker's changes and states as spec metric observations: pure mapping, no metrics client. Every sink
 * renders the same observations (CloudWatch EMF in lib/adapters/aws/emf-metrics.ts, Prometheus in
 * lib/adapters/prometheus/metrics.ts, JSON lines on Cloud Run), so the clouds count the same events:
 * - `migrationStateObservations`: every gauge a stored migration gives at one moment (the Prometheus scrape
 *   and the periodic sweep on Lambda both emit exactly these);
 * - `trackerChangeObservations`: the counters one change produces, plus the gauges it changed.
 */
import type { Observation } from './observation';
import type { MigrationState, MigrationStatus, PhaseState } from '../model';
import { MIGRATION_STATES, type MetricName } from './spec';
import { estimate, migrationStatus, overallProgress } from '../progress';
import type { TrackerChange } from '../tracker/service';
import { DEFAULT_THRESHOLDS, healthOf, healthValue, phaseFailureHealth, type HealthThresholds } from '../tracker/views';
import { validationVerdict } from '../tracker/operations';

/** MigrationState gauge values: the index in the spec's list of states (its help text documents the same mapping). */
const stateValue = (s: MigrationStatus): number => MIGRATION_STATES.indexOf(s);

/** Operations a running job sends: each one is a heartbeat for the stalled alarm. */
const REPORTER_ACTIONS = new Set(['start_phase', 'update_phase', 'complete_phase', 'start_subtask', 'update_subtask', 'complete_subtask', 'update_metrics']);

export const observation = (metric: MetricName, labels: Observation['labels'], value: number, mode: Observation['mode']): Observation => ({ metric, labels, value, mode });

/** Gauges that describe a migration as it is now (emitted on every change and by the periodic sweep). */
export function migrationSnapshotObservations(s: MigrationState): Observation[] {
  const m = { MigrationId: s.id };
  return [
    observation('OverallProgress', m, overallProgress(s.phases), 'set'),
    observation('MigrationState', m, stateValue(migrationStatus(s)), 'set'),
    observation('PhasesRunning', m, s.phases.filter((p) => p.status === 'in_progress').length, 'set'),
    // failed phases that make the migration unhealthy (the one rule of healthOf): a phase failed by a validation
    // that is not a gate degrades it, and is ValidationFailed's (a warning), not the phase-failed page's
    observation('PhasesFailed', m, s.phases.filter((p) => p.status === 'failed' && phaseFailureHealth(p) === 'unhealthy').length, 'set'),
    observation('StalePhases', m, s.phases.filter((p) => p.stale).length, 'set'),
  ];
}

/** Seconds a phase has taken: its recorded duration once it ended, the time since its start while it runs. */
function phaseSeconds(p: PhaseState, now: number): number | undefined {
  if ((p.status === 'completed' || p.status === 'failed') && p.actualDuration !== undefined) return Math.round(p.actualDuration * 60);
  if (p.startedAt === undefined) return undefined;
  const end = p.status === 'in_progress' ? now : (p.completedAt ?? now);
  return Math.max(0, Math.round((end - p.startedAt) / 1000));
}

/** Resource and cost figures the migration job reported (update_metrics): one gauge each, none for a figure never reported. */
function resourceObservations(s: MigrationState): Observation[] {
  const reported = new Set(s.metricsReported ?? []);
  if (!reported.size) return [];
  const m = { MigrationId: s.id };
  const r = s.metrics.resourceUtilization;
  const c = s.metrics.costMetrics;
  const money = { ...m, Currency: c.currency ?? 'USD' };
  const figures: Array<[string, MetricName, Observation['labels'], number]> = [
    ['resourceUtilization.cpu', 'CpuUtilization', m, r.cpu],
    ['resourceUtilization.memory', 'MemoryUtilization', m, r.memory],
    ['resourceUtilization.network', 'NetworkThroughput', m, r.network],
    ['resourceUtilization.storage', 'StorageUsed', m, r.storage],
    ['costMetrics.actualCost', 'CostSoFar', money, c.actualCost],
    ['costMetrics.estimatedCost', 'EstimatedCost', money, c.estimatedCost],
    ['costMetrics.costPerGB', 'CostPerGB', money, c.costPerGB],
  ];
  return figures.filter(([key]) => reported.has(key)).map(([, metric, labels, value]) => observation(metric, labels, value, 'set'));
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Every gauge a migration's stored state gives at `now`: the scrape's and the sweep's one description of it. */
export function migrationStateObservations(s: MigrationState, now: number, thresholds: HealthThresholds = DEFAULT_THRESHOLDS): Observation[] {
  const m = { MigrationId: s.id };
  const out: Observation[] = [...migrationSnapshotObservations(s)];
  // the one health (healthOf), as /health and the report say it
  out.push(observation('MigrationHealth', m, healthValue(healthOf(s, now, thresholds).status), 'set'));
  out.push(observation('DataMigrated', m, s.metrics.totalDataMigrated, 'set'), observation('MigrationSpeed', m, s.metrics.migrationSpeed, 'set'), observation('ErrorRate', m, s.metrics.errorRate, 'set'));
  out.push(...resourceObservations(s));
  const eta = estimate(s, now).estimatedCompletion;
  if (eta !== null) out.push(observation('EstimatedCompletion', m, Math.round(Date.parse(eta) / 1000), 'set'));
  const events = new Map<string, { copied?: number; total?: number }>();
  for (const p of s.phases) {
    const mp = { ...m, Phase: p.id };
    out.push(observation('PhaseProgress', mp, p.progress, 'set'));
    const seconds = phaseSeconds(p, now);
    if (seconds !== undefined) out.push(observation('PhaseDuration', mp, seconds, 'set'));
    if (p.startedAt !== undefined) out.push(observation('PhaseStartTime', mp, p.startedAt / 1000, 'set'));
    if (p.status !== 'in_progress' && p.status !== 'pending' && p.completedAt !== undefined) out.push(observation('PhaseEndTime', mp, p.completedAt / 1000, 'set'));
    const md = p.metadata ?? {};
    const tenant = typeof md['tenantId'] === 'string' ? md['tenantId'] : 'unknown';
    const e = events.get(tenant) ?? {};
    if (isCount(md['eventsCopied'])) e.copied = Math.max(e.copied ?? 0, md['eventsCopied']);
    if (isCount(md['eventsTotal'])) e.total = Math.max(e.total ?? 0, md['eventsTotal']);
    events.set(tenant, e);
    if (isCount(md['syncLagEvents']) && p.status === 'in_progress') out.push(observation('SyncLag', { TenantId: tenant }, md['syncLagEvents'], 'set'));
  }
  for (const [tenant, e] of events) {
    const mt = { ...m, TenantId: tenant };
    if (e.copied !== undefined) out.push(observation('EventsCopied', mt, e.copied, 'set'));
    if (e.total !== undefined) out.push(observation('EventsTotal', mt, e.total, 'set'));
  }
  return out;
}

const seriesKey = (o: Observation) => `${o.metric}|${JSON.stringify(o.labels)}`;

/**
 * The spec metrics one tracker change produces (pure: the same change always gives the same observations):
 * the migration-level gauges, every other gauge of `migrationStateObservations` whose value the change
 * moved, and the counters of the transitions it made.
 */
export function trackerChangeObservations(change: TrackerChange, thresholds: HealthThresholds = DEFAULT_THRESHOLDS): Observation[] {
  const { after, before, migrationId } = change;
  const m = { MigrationId: migrationId };
  const now = change.at;
  const old = new Map((before ? migrationStateObservations(before, now, thresholds) : []).map((o) => [seriesKey(o), o.value]));
  const snapshot = new Set(migrationSnapshotObservations(after).map(seriesKey));
  const out: Observation[] = [];
  for (const o of migrationStateObservations(after, now, thresholds)) {
    // a running phase's elapsed time moves with the clock, not with the change: the sweep and the scrape report it
    if (o.metric === 'PhaseDuration' && after.phases.find((p) => p.id === o.labels.Phase)?.status === 'in_progress') continue;
    if (snapshot.has(seriesKey(o)) || old.get(seriesKey(o)) !== o.value) out.push(o);
    else if (change.action === 'update_metrics' && (o.metric === 'DataMigrated' || o.metric === 'MigrationSpeed' || o.metric === 'ErrorRate')) out.push(o);
  }
  const prevPhases = new Map((before?.phases ?? []).map((p) => [p.id, p]));
  for (const p of after.phases) {
    const prev = prevPhases.get(p.id);
    const mp = { MigrationId: migrationId, Phase: p.id };
    if (prev?.status === p.status) continue;
    if (p.status === 'in_progress') out.push(observation('PhaseStarted', mp, 1, 'add'));
    if (p.status === 'completed') out.push(observation('PhaseCompleted', mp, 1, 'add'));
    if (p.status === 'failed') out.push(observation('PhaseFailed', mp, 1, 'add'));
  }
  if (REPORTER_ACTIONS.has(change.action)) out.push(observation('ProgressUpdates', m, 1, 'add'));
  const knownAlerts = new Set((before?.alerts ?? []).map((a) => a.id));
  for (const a of after.alerts) if (!knownAlerts.has(a.id)) out.push(observation('AlertsRaised', { ...m, Severity: a.severity }, 1, 'add'));
  for (const e of after.controlEvents.slice(before?.controlEvents.length ?? 0)) out.push(observation('ControlEvents', { ...m, Event: e.type }, 1, 'add'));
  if (change.action === 'record_validation' && after.lastValidation?.verdict === 'fail') {
    out.push(observation('ValidationFailed', {}, 1, 'add'));
    if (validationVerdict(after.lastValidation).gate) out.push(observation('ValidationGateFailed', {}, 1, 'add'));
  }
  for (const [channel, n] of Object.entries(after.notifications?.failed ?? {})) {
    const added = n - (before?.notifications?.failed[channel as keyof NonNullable<MigrationState['notifications']>['failed']] ?? 0);
    if (added > 0) out.push(observation('AlertDeliveryFailures', { Channel: channel }, added, 'add'));
  }
  return out;
}
