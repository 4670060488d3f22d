import { Gauge } from 'prom-client';
import type { Route } from '../../core/http';
import type { Observation } from '../../core/metrics/observation';
import { ALERT_SEVERITIES, type MigrationState } from '../../core/model';
import { migrationStateObservations, observation as obs, trackerChangeObservations } from '../../core/metrics/mapping';
import { METRICS, type MetricName } from '../../core/metrics/spec';
import type { Tracker } from '../../core/tracker/service';
import type { HealthThresholds } from '../../core/tracker/views';
import { checkAuth } from '../../core/tracker/api';
import type { NamedTokens } from '../../core/tracker/identity';
import { PrometheusSink } from './sink';

/**
 * Gauges recomputed from the stored migrations at every scrape (so they are right after a restart too).
 * DataMigrated is a counter in Prometheus: it follows the stored running total (no reset needed).
 */
const STATE_GAUGES: MetricName[] = [
  'OverallProgress',
  'MigrationState',
  'PhasesRunning',
  'StalePhases',
  'MigrationHealth',
  'PhaseProgress',
  'PhaseStartTime',
  'PhaseEndTime',
  'CpuUtilization',
  'MemoryUtilization',
  'NetworkThroughput',
  'StorageUsed',
  'CostSoFar',
  'EstimatedCost',
  'CostPerGB',
  'MigrationSpeed',
  'ErrorRate',
  'EstimatedCompletion',
  'EventsTotal',
  'SyncLag',
];

/**
 * The tracker's Prometheus view, on a PrometheusSink (monitoring-spec names, help and labels):
 * - gauges (state, progress, phase durations, data, events total, sync lag...) are read from the store at
 *   scrape time, for every migration;
 * - counters (phase starts/completions/failures, progress updates, alerts, control events, validation
 *   failures) count the tracker's changes in this process, from the same mapping the EMF sink uses, and
 *   start at 0 for every known migration and phase so `increase()` sees the first event;
 * - `migration_events_copied_total` follows the running total reported in phase metadata (`eventsCopied`);
 * - anything else recorded on the sink (the log watcher's dual-write and cutover observations, the search
 *   proxy's metrics) is rendered alongside.
 */
export class TrackerPrometheus {
  readonly sink: PrometheusSink;
  constructor(
    private readonly tracker: Tracker,
    sink?: PrometheusSink,
  ) {
    this.sink = sink ?? new PrometheusSink();
    tracker.addListener((change) => {
      for (const o of trackerChangeObservations(change)) if (METRICS[o.metric].kind === 'counter') this.sink.record(o);
    });
  }

  /** The text exposition format, refreshed from the store. */
  async text(): Promise<string> {
    const now = this.tracker.clock.now();
    const states: MigrationState[] = [];
    for (const id of await this.tracker.list()) states.push(await this.tracker.get(id));
    for (const name of STATE_GAUGES) {
      const g = this.sink.registry.getSingleMetric(METRICS[name].prometheus ?? '');
      if (g instanceof Gauge) g.reset();
    }
    for (const s of states) for (const o of stateObservations(s, now, this.tracker.thresholds)) this.sink.record(o);
    // Reports the tracker was told about (record_report), summed over migrations: a running total per channel,
    // so `ReportMissing` reads the reports a local `migration-monitor report` delivered.
    const reports = new Map<string, number>();
    for (const s of states) for (const [channel, n] of Object.entries(s.reports?.produced ?? {})) reports.set(channel, (reports.get(channel) ?? 0) + n);
    for (const [channel, n] of reports) this.sink.record(obs('ReportsProduced', { Channel: channel }, n, 'set'));
    return this.sink.text();
  }

  get contentType(): string {
    return this.sink.contentType;
  }
}

/** The migration's gauges (the core mapping, as the Lambda sweep emits them) and its counters started at 0. */
export function stateObservations(s: MigrationState, now: number, thresholds?: HealthThresholds): Observation[] {
  const m = { MigrationId: s.id };
  const out = migrationStateObservations(s, now, thresholds);
  // Counters start at 0 for every known series, so `increase()` sees the first event.
  out.push(obs('ProgressUpdates', m, 0, 'add'));
  for (const sev of ALERT_SEVERITIES) out.push(obs('AlertsRaised', { ...m, Severity: sev }, 0, 'add'));
  for (const ev of ['pause', 'resume']) out.push(obs('ControlEvents', { ...m, Event: ev }, 0, 'add'));
  for (const p of s.phases) for (const c of ['PhaseStarted', 'PhaseCompleted', 'PhaseFailed'] as const) out.push(obs(c, { ...m, Phase: p.id }, 0, 'add'));
  return out;
}

export interface MetricsRouteOptions {
  /** Render the tracker's migrations (gauges from the store, counters from its changes). */
  tracker?: Tracker;
  /** The registry to render (and to add the tracker's metrics to). One is created when absent. */
  sink?: PrometheusSink;
  /** Require `Authorization: Bearer <token>` (Prometheus: `authorization: {credentials: ...}` in the scrape config). */
  token?: string | NamedTokens;
  /** Default `/metrics`. */
  path?: string;
}

/**
 * `GET /metrics` in the Prometheus text format. Mount it next to the tracker API (`extraRoutes`), on the
 * search proxy (with its PrometheusSink), or on the log watcher (with the sink the analyzer records to).
 */
export function metricsRoute(opts: MetricsRouteOptions): Route {
  const sink = opts.sink ?? new PrometheusSink();
  const view = opts.tracker ? new TrackerPrometheus(opts.tracker, sink) : undefined;
  return {
    method: 'GET',
    path: opts.path ?? '/metrics',
    handler: async (req) => {
      checkAuth(req, opts.token);
      const body = view ? await view.text() : await sink.text();
      return { status: 200, headers: { 'content-type': sink.contentType, 'cache-control': 'no-store' }, body };
    },
  };
}
