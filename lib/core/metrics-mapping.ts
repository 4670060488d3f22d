/**
 * The tracker's changes and states as spec metric observations: pure mapping, no metrics client. Every sink
 * renders the same observations (CloudWatch EMF in lib/adapters/aws/emf-metrics.ts, Prometheus in
 * lib/adapters/prometheus/metrics.ts, JSON lines on Cloud Run), so the clouds count the same events.
 */
import type { Observation } from './logwatch/sink';
import type { MigrationState, MigrationStatus } from './model';
import type { MetricName } from './monitoring-spec';
import { migrationStatus, overallProgress } from './progress';
import type { TrackerChange } from './tracker';

/** MigrationState gauge values (the spec's help text documents the same mapping). */
const STATE_VALUE: Record<MigrationStatus, number> = { not_started: 0, in_progress: 1, paused: 2, completed: 3, failed: 4 };

/** Operations a running job sends: each one is a heartbeat for the stalled alarm. */
const REPORTER_ACTIONS = new Set(['start_phase', 'update_phase', 'complete_phase', 'start_subtask', 'update_subtask', 'complete_subtask', 'update_metrics']);

export const observation = (metric: MetricName, labels: Observation['labels'], value: number, mode: Observation['mode']): Observation => ({ metric, labels, value, mode });

/** Gauges that describe a migration as it is now (emitted on every change and by the periodic sweep). */
export function migrationSnapshotObservations(s: MigrationState): Observation[] {
  const m = { MigrationId: s.id };
  return [
    observation('OverallProgress', m, overallProgress(s.phases), 'set'),
    observation('MigrationState', m, STATE_VALUE[migrationStatus(s)], 'set'),
    observation('PhasesRunning', m, s.phases.filter((p) => p.status === 'in_progress').length, 'set'),
    observation('StalePhases', m, s.phases.filter((p) => p.stale).length, 'set'),
  ];
}

/** The spec metrics one tracker change produces (pure: the same change always gives the same observations). */
export function trackerChangeObservations(change: TrackerChange): Observation[] {
  const { after, before, migrationId } = change;
  const m = { MigrationId: migrationId };
  const out = migrationSnapshotObservations(after);
  const prevPhases = new Map((before?.phases ?? []).map((p) => [p.id, p]));
  for (const p of after.phases) {
    const prev = prevPhases.get(p.id);
    const mp = { MigrationId: migrationId, Phase: p.id };
    if (!prev || prev.progress !== p.progress || prev.status !== p.status) out.push(observation('PhaseProgress', mp, p.progress, 'set'));
    if (prev?.status === p.status) continue;
    if (p.status === 'in_progress') out.push(observation('PhaseStarted', mp, 1, 'add'));
    if (p.status === 'completed') out.push(observation('PhaseCompleted', mp, 1, 'add'));
    if (p.status === 'failed') out.push(observation('PhaseFailed', mp, 1, 'add'));
    if ((p.status === 'completed' || p.status === 'failed') && p.actualDuration !== undefined) {
      out.push(observation('PhaseDuration', mp, Math.round(p.actualDuration * 60), 'set'));
    }
  }
  if (REPORTER_ACTIONS.has(change.action)) out.push(observation('ProgressUpdates', m, 1, 'add'));
  const mb = before?.metrics;
  const ma = after.metrics;
  if (!mb || mb.totalDataMigrated !== ma.totalDataMigrated || change.action === 'update_metrics') {
    out.push(observation('DataMigrated', m, ma.totalDataMigrated, 'set'), observation('MigrationSpeed', m, ma.migrationSpeed, 'set'), observation('ErrorRate', m, ma.errorRate, 'set'));
  }
  const knownAlerts = new Set((before?.alerts ?? []).map((a) => a.id));
  for (const a of after.alerts) if (!knownAlerts.has(a.id)) out.push(observation('AlertsRaised', { ...m, Severity: a.severity }, 1, 'add'));
  for (const e of after.controlEvents.slice(before?.controlEvents.length ?? 0)) out.push(observation('ControlEvents', { ...m, Event: e.type }, 1, 'add'));
  if (change.action === 'record_validation' && after.lastValidation?.verdict === 'fail') out.push(observation('ValidationFailed', {}, 1, 'add'));
  return out;
}
