import type { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Observation, ObservationSink } from '../../core/logwatch/sink';
import type { MigrationState, MigrationStatus } from '../../core/model';
import { METRICS, type Dimension } from '../../core/monitoring-spec';
import { migrationStatus, overallProgress } from '../../core/progress';
import type { TrackerChange, TrackerListener } from '../../core/tracker';

type PowertoolsUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** MigrationState gauge values (the spec's help text documents the same mapping). */
const STATE_VALUE: Record<MigrationStatus, number> = { not_started: 0, in_progress: 1, paused: 2, completed: 3, failed: 4 };

/** Operations a running job sends: each one is a heartbeat for the stalled alarm. */
const REPORTER_ACTIONS = new Set(['start_phase', 'update_phase', 'complete_phase', 'start_subtask', 'update_subtask', 'complete_subtask', 'update_metrics']);

const obs = (metric: Observation['metric'], labels: Observation['labels'], value: number, mode: Observation['mode']): Observation => ({ metric, labels, value, mode });

/** Gauges that describe a migration as it is now (emitted on every change and by the periodic sweep). */
export function migrationSnapshotObservations(s: MigrationState): Observation[] {
  const m = { MigrationId: s.id };
  return [
    obs('OverallProgress', m, overallProgress(s.phases), 'set'),
    obs('MigrationState', m, STATE_VALUE[migrationStatus(s)], 'set'),
    obs('PhasesRunning', m, s.phases.filter((p) => p.status === 'in_progress').length, 'set'),
    obs('StalePhases', m, s.phases.filter((p) => p.stale).length, 'set'),
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
    if (!prev || prev.progress !== p.progress || prev.status !== p.status) out.push(obs('PhaseProgress', mp, p.progress, 'set'));
    if (prev?.status === p.status) continue;
    if (p.status === 'in_progress') out.push(obs('PhaseStarted', mp, 1, 'add'));
    if (p.status === 'completed') out.push(obs('PhaseCompleted', mp, 1, 'add'));
    if (p.status === 'failed') out.push(obs('PhaseFailed', mp, 1, 'add'));
    if ((p.status === 'completed' || p.status === 'failed') && p.actualDuration !== undefined) {
      out.push(obs('PhaseDuration', mp, Math.round(p.actualDuration * 60), 'set'));
    }
  }
  if (REPORTER_ACTIONS.has(change.action)) out.push(obs('ProgressUpdates', m, 1, 'add'));
  const mb = before?.metrics;
  const ma = after.metrics;
  if (!mb || mb.totalDataMigrated !== ma.totalDataMigrated || change.action === 'update_metrics') {
    out.push(obs('DataMigrated', m, ma.totalDataMigrated, 'set'), obs('MigrationSpeed', m, ma.migrationSpeed, 'set'), obs('ErrorRate', m, ma.errorRate, 'set'));
  }
  const knownAlerts = new Set((before?.alerts ?? []).map((a) => a.id));
  for (const a of after.alerts) if (!knownAlerts.has(a.id)) out.push(obs('AlertsRaised', { ...m, Severity: a.severity }, 1, 'add'));
  for (const e of after.controlEvents.slice(before?.controlEvents.length ?? 0)) out.push(obs('ControlEvents', { ...m, Event: e.type }, 1, 'add'));
  if (change.action === 'record_validation' && after.lastValidation?.verdict === 'fail') out.push(obs('ValidationFailed', {}, 1, 'add'));
  return out;
}

/**
 * Writes spec metrics as CloudWatch EMF through Powertools Metrics. Each observation is emitted with two
 * dimension sets: the spec's own (per migration, phase, …) and a rollup with only Powertools' `service`
 * dimension, which the alarms read (CloudWatch alarms cannot aggregate across dimension values).
 * Observations are buffered; `flush()` writes one EMF document per distinct set of dimension values.
 */
export class EmfMetricsSink implements ObservationSink {
  private pending: Observation[] = [];
  constructor(private readonly metrics: Metrics) {}

  record(o: Observation): void {
    const spec = METRICS[o.metric];
    for (const d of spec.dimensions) {
      if (o.labels[d] === undefined) throw new Error(`metric ${o.metric} needs the ${d} dimension (has: ${Object.keys(o.labels).join(', ') || 'none'})`);
    }
    this.pending.push(o);
  }

  flush(): void {
    const groups = new Map<string, { dims: Record<string, string>; items: Observation[] }>();
    for (const o of this.pending) {
      const dims: Record<string, string> = {};
      for (const d of METRICS[o.metric].dimensions as Dimension[]) dims[d] = o.labels[d]!;
      const key = JSON.stringify(dims);
      const g = groups.get(key) ?? { dims, items: [] };
      g.items.push(o);
      groups.set(key, g);
    }
    this.pending = [];
    for (const { dims, items } of groups.values()) {
      if (Object.keys(dims).length) this.metrics.addDimensions(dims);
      this.metrics.addDimensions({});
      for (const o of items) this.metrics.addMetric(o.metric, METRICS[o.metric].unit as PowertoolsUnit, o.value);
      this.metrics.publishStoredMetrics();
    }
  }
}

/** A tracker listener that emits the spec metrics of every change (flushed at once: one change, a few EMF lines). */
export function emfMetricsListener(sink: EmfMetricsSink): TrackerListener {
  return (change) => {
    for (const o of trackerChangeObservations(change)) sink.record(o);
    sink.flush();
  };
}
