/**
 * The monitoring spec: every metric and alarm, defined once as typed data. Handlers emit by these names
 * (CloudWatch EMF on AWS, Prometheus text at /metrics); renderers turn the spec into CloudWatch
 * dashboards and alarms (CDK), Cloud Monitoring policies and dashboards (CDKTF) and Prometheus rules and
 * Grafana JSON (export). Thresholds are overridable per environment with `resolveSpec`.
 */
import * as z from '../zod';

export type MetricUnit = 'Count' | 'Percent' | 'Bytes' | 'Bytes/Second' | 'Milliseconds' | 'Seconds' | 'None';
/** How the value behaves: counters only go up (Prometheus `_total`), gauges are last values, histograms are distributions. */
export type MetricKind = 'counter' | 'gauge' | 'histogram';
export type Dimension =
  | 'MigrationId'
  | 'Phase'
  | 'Severity'
  | 'Event'
  | 'Breaker'
  | 'ToState'
  | 'Backend'
  | 'Outcome'
  | 'Check'
  | 'Result'
  | 'Channel'
  | 'TenantId'
  | 'ViolationType'
  | 'Handler'
  | 'Status'
  | 'Currency';

export interface MetricSpec {
  /** CloudWatch / spec name (PascalCase). */
  name: string;
  unit: MetricUnit;
  kind: MetricKind;
  dimensions: Dimension[];
  help: string;
  /**
   * Prometheus name, following its naming guide (docs/prometheus.md#naming): the one application prefix
   * `migration_`, base units, ratios 0-1 (`_ratio`; the spec keeps CloudWatch's percent and renderers divide),
   * `_total` for counters. `null`: not rendered in Prometheus, which has a better form (PhaseDuration: the
   * phase start and end timestamps).
   */
  prometheus: string | null;
  /**
   * The Prometheus type where it differs from `kind`: a running total that CloudWatch keeps as a gauge of the
   * total (DataMigrated) is a counter in Prometheus, so `rate()` gives the throughput.
   */
  prometheusType?: MetricKind;
  /**
   * A state gauge: value i means `states[i]`. CloudWatch and Cloud Monitoring keep the number; Prometheus
   * renders one series per state, `{state="<name>"}` 1 for the current state and 0 for the others.
   */
  states?: readonly string[];
  /**
   * The Prometheus name before the naming-guide renames (docs/prometheus.md maps old → new for existing
   * queries). Cloud Logging log-based metrics keep it as their name, so deployed metrics keep their history.
   */
  formerPrometheus?: string;
  /** For a metric Prometheus has no series of (`prometheus: null`): the PromQL that computes it from others, given a selector's matchers. */
  prometheusExpr?: (matchers: string) => string;
  /** Which part of the product emits it. */
  source: 'tracker' | 'breaker' | 'proxy' | 'validation' | 'report' | 'dual-write' | 'cutover' | 'handler';
}

type PrometheusExtras = Partial<Pick<MetricSpec, 'prometheusType' | 'states' | 'formerPrometheus' | 'prometheusExpr'>>;

const m = (
  name: string,
  unit: MetricUnit,
  kind: MetricKind,
  dimensions: Dimension[],
  prometheus: string | null,
  source: MetricSpec['source'],
  help: string,
  extras: PrometheusExtras = {},
): MetricSpec => ({
  name,
  unit,
  kind,
  dimensions,
  prometheus,
  source,
  help,
  ...extras,
});

/** Migration states, in the order of MigrationState's values. */
export const MIGRATION_STATES = ['not_started', 'in_progress', 'paused', 'completed', 'failed', 'rolled_back'] as const;
/** Health, in the order of MigrationHealth's values. */
export const HEALTH_STATES = ['healthy', 'degraded', 'unhealthy'] as const;
/** Circuit breaker states, in the order of BreakerState's values. */
export const BREAKER_STATES = ['closed', 'half_open', 'open'] as const;

export const METRICS = {
  // tracker
  OverallProgress: m('OverallProgress', 'Percent', 'gauge', ['MigrationId'], 'migration_progress_ratio', 'tracker', 'Overall migration progress, weighted by estimated phase durations (0-100; a 0-1 ratio in Prometheus)', { formerPrometheus: 'migration_progress_percent' }),
  PhaseProgress: m('PhaseProgress', 'Percent', 'gauge', ['MigrationId', 'Phase'], 'migration_phase_progress_ratio', 'tracker', 'Progress of one phase (0-100; a 0-1 ratio in Prometheus)', { formerPrometheus: 'migration_phase_progress_percent' }),
  ProgressUpdates: m('ProgressUpdates', 'Count', 'counter', ['MigrationId'], 'migration_progress_updates_total', 'tracker', 'Progress reports received from running phases (a heartbeat: none for a while means stalled)'),
  PhaseStarted: m('PhaseStarted', 'Count', 'counter', ['MigrationId', 'Phase'], 'migration_phase_started_total', 'tracker', 'Phases started'),
  PhaseCompleted: m('PhaseCompleted', 'Count', 'counter', ['MigrationId', 'Phase'], 'migration_phase_completed_total', 'tracker', 'Phases completed'),
  PhaseFailed: m('PhaseFailed', 'Count', 'counter', ['MigrationId', 'Phase'], 'migration_phase_failed_total', 'tracker', 'Phases failed'),
  PhaseDuration: m('PhaseDuration', 'Seconds', 'gauge', ['MigrationId', 'Phase'], null, 'tracker', 'Time spent in a phase (Prometheus: migration_phase_end_timestamp_seconds - migration_phase_start_timestamp_seconds, or time() - start while it runs)', {
    formerPrometheus: 'migration_duration_seconds',
    prometheusExpr: (matchers) => {
      const sel = matchers ? `{${matchers}}` : '';
      return `(migration_phase_end_timestamp_seconds${sel} or (0 * migration_phase_start_timestamp_seconds${sel} + time())) - migration_phase_start_timestamp_seconds${sel}`;
    },
  }),
  MigrationState: m('MigrationState', 'None', 'gauge', ['MigrationId'], 'migration_state', 'tracker', 'Migration state: 0 not started, 1 in progress, 2 paused, 3 completed, 4 failed, 5 rolled back (in Prometheus a label set: 1 on the current state, 0 on the others)', { states: MIGRATION_STATES, formerPrometheus: 'migration_state' }),
  DataMigrated: m('DataMigrated', 'Bytes', 'gauge', ['MigrationId'], 'migration_data_migrated_bytes_total', 'tracker', 'Total data migrated so far (a counter in Prometheus, whose rate() is the throughput)', { prometheusType: 'counter', formerPrometheus: 'migration_data_migrated_bytes' }),
  MigrationSpeed: m('MigrationSpeed', 'Bytes/Second', 'gauge', ['MigrationId'], 'migration_speed_bytes_per_second', 'tracker', 'Current migration speed'),
  ErrorRate: m('ErrorRate', 'Percent', 'gauge', ['MigrationId'], 'migration_error_ratio', 'tracker', 'Failed operations as a percentage of all operations (a 0-1 ratio in Prometheus)', { formerPrometheus: 'migration_error_rate_percent' }),
  AlertsRaised: m('AlertsRaised', 'Count', 'counter', ['MigrationId', 'Severity'], 'migration_alerts_total', 'tracker', 'Alerts raised, by severity'),
  ControlEvents: m('ControlEvents', 'Count', 'counter', ['MigrationId', 'Event'], 'migration_control_events_total', 'tracker', 'Pause and resume events'),
  StalePhases: m('StalePhases', 'Count', 'gauge', ['MigrationId'], 'migration_stale_phases', 'tracker', 'Running phases whose reporter missed its promised update'),
  PhasesFailed: m('PhasesFailed', 'Count', 'gauge', ['MigrationId'], 'migration_phases_failed', 'tracker', 'Phases failed now that make the migration unhealthy (the phase-failed alarm holds while this is above 0, and clears when the phase is retried or skipped; a phase failed by a validation that is not a cutover gate only degrades it and is not counted)'),
  MigrationHealth: m('MigrationHealth', 'None', 'gauge', ['MigrationId'], 'migration_health', 'tracker', 'Migration health as /health, the dashboard and the report say it: 0 healthy, 1 degraded, 2 unhealthy (in Prometheus a label set: 1 on the current state, 0 on the others)', { states: HEALTH_STATES, formerPrometheus: 'migration_health' }),
  EstimatedCompletion: m('EstimatedCompletion', 'Seconds', 'gauge', ['MigrationId'], 'migration_estimated_completion_timestamp_seconds', 'tracker', 'When the migration is expected to complete (Unix time, seconds), from the observed rate; absent while paused, failed, done or without data'),
  PhasesRunning: m('PhasesRunning', 'Count', 'gauge', ['MigrationId'], 'migration_phases_running', 'tracker', 'Phases in progress (also emitted by the periodic staleness sweep, so silence from reporters can be told apart from idleness)'),
  PhaseStartTime: m('PhaseStartTime', 'Seconds', 'gauge', ['MigrationId', 'Phase'], 'migration_phase_start_timestamp_seconds', 'tracker', 'When a phase started (Unix time, seconds; its latest start after a retry): time() minus it is the time spent so far'),
  PhaseEndTime: m('PhaseEndTime', 'Seconds', 'gauge', ['MigrationId', 'Phase'], 'migration_phase_end_timestamp_seconds', 'tracker', 'When a phase completed, failed or was skipped (Unix time, seconds); absent while it runs'),
  // resources and cost the migration job reports (update_metrics); absent until reported, never a made-up 0
  CpuUtilization: m('CpuUtilization', 'Percent', 'gauge', ['MigrationId'], 'migration_cpu_utilization_ratio', 'tracker', 'CPU use the migration job reported (percent; a 0-1 ratio in Prometheus)'),
  MemoryUtilization: m('MemoryUtilization', 'Percent', 'gauge', ['MigrationId'], 'migration_memory_utilization_ratio', 'tracker', 'Memory use the migration job reported (percent; a 0-1 ratio in Prometheus)'),
  NetworkThroughput: m('NetworkThroughput', 'Bytes/Second', 'gauge', ['MigrationId'], 'migration_network_bytes_per_second', 'tracker', 'Network throughput the migration job reported'),
  StorageUsed: m('StorageUsed', 'Bytes', 'gauge', ['MigrationId'], 'migration_storage_bytes', 'tracker', 'Storage the migration job reported'),
  CostSoFar: m('CostSoFar', 'None', 'gauge', ['MigrationId', 'Currency'], 'migration_cost', 'tracker', 'Cost so far (actual cost), in the currency of the label'),
  EstimatedCost: m('EstimatedCost', 'None', 'gauge', ['MigrationId', 'Currency'], 'migration_estimated_cost', 'tracker', 'Estimated total cost, in the currency of the label'),
  CostPerGB: m('CostPerGB', 'None', 'gauge', ['MigrationId', 'Currency'], 'migration_cost_per_gigabyte', 'tracker', 'Cost per GB migrated, in the currency of the label'),
  // circuit breaker and search proxy
  BreakerState: m('BreakerState', 'None', 'gauge', ['Breaker'], 'migration_circuit_breaker_state', 'breaker', 'Breaker state: 0 closed, 1 half-open, 2 open (in Prometheus a label set: 1 on the current state, 0 on the others)', { states: BREAKER_STATES, formerPrometheus: 'circuit_breaker_state' }),
  BreakerTransitions: m('BreakerTransitions', 'Count', 'counter', ['Breaker', 'ToState'], 'migration_circuit_breaker_transitions_total', 'breaker', 'State transitions, by target state', { formerPrometheus: 'circuit_breaker_transitions_total' }),
  BreakerRejections: m('BreakerRejections', 'Count', 'counter', ['Breaker'], 'migration_circuit_breaker_rejections_total', 'breaker', 'Calls rejected without reaching the backend because the breaker was open', { formerPrometheus: 'circuit_breaker_rejections_total' }),
  ProxyRequests: m('ProxyRequests', 'Count', 'counter', ['Backend', 'Outcome'], 'migration_search_proxy_requests_total', 'proxy', 'Search requests by backend and outcome (success, failure, timeout, rejected)', { formerPrometheus: 'search_proxy_requests_total' }),
  ProxyFallbacks: m('ProxyFallbacks', 'Count', 'counter', [], 'migration_search_proxy_fallbacks_total', 'proxy', 'Searches answered by the fallback backend (degraded)', { formerPrometheus: 'search_proxy_fallbacks_total' }),
  ProxyLatency: m('ProxyLatency', 'Milliseconds', 'histogram', ['Backend'], 'migration_search_proxy_latency_seconds', 'proxy', 'Search latency per backend', { formerPrometheus: 'search_proxy_latency_seconds' }),
  ShadowOverlap: m('ShadowOverlap', 'Percent', 'gauge', [], 'migration_search_proxy_shadow_overlap_ratio', 'proxy', 'Overlap@k between primary and shadow results', { formerPrometheus: 'search_proxy_shadow_overlap_ratio' }),
  // validation
  ValidationChecks: m('ValidationChecks', 'Count', 'counter', ['Check', 'Result'], 'migration_validation_checks_total', 'validation', 'Validation checks run, by result', { formerPrometheus: 'validation_checks_total' }),
  ValidationFailed: m('ValidationFailed', 'Count', 'counter', [], 'migration_validation_failures_total', 'validation', 'Validation runs whose verdict was fail', { formerPrometheus: 'validation_failures_total' }),
  ValidationGateFailed: m('ValidationGateFailed', 'Count', 'counter', [], 'migration_validation_gate_failures_total', 'validation', 'Validation runs that failed a cutover gate (the run, or a check that failed, is marked `gate`): the migration is unhealthy until a run passes'),
  ValidationSuccessRate: m('ValidationSuccessRate', 'Percent', 'gauge', ['Check'], 'migration_validation_success_ratio', 'validation', 'Share of compared records that matched (percent; a 0-1 ratio in Prometheus)', { formerPrometheus: 'validation_success_rate_percent' }),
  VerificationViolations: m('VerificationViolations', 'Count', 'counter', ['ViolationType'], 'migration_verification_violations_total', 'validation', 'Consistency violations found (missing, orphan, mismatch, vector-distance)', { formerPrometheus: 'verification_violations_total' }),
  // reports
  ReportsProduced: m('ReportsProduced', 'Count', 'counter', ['Channel'], 'migration_reports_produced_total', 'report', 'Reports delivered, by channel', { formerPrometheus: 'reports_produced_total' }),
  AlertDeliveryFailures: m('AlertDeliveryFailures', 'Count', 'counter', ['Channel'], 'migration_alert_delivery_failures_total', 'tracker', 'Alert notification attempts that failed, by destination (email, pager, slack): each is retried with backoff'),
  ReportDeliveryFailures: m('ReportDeliveryFailures', 'Count', 'counter', ['Channel'], 'migration_report_delivery_failures_total', 'report', 'Report deliveries that failed, by channel', { formerPrometheus: 'report_delivery_failures_total' }),
  // dual-write and cutover (log-driven tracking)
  EventsCopied: m('EventsCopied', 'Count', 'counter', ['MigrationId', 'TenantId'], 'migration_events_copied_total', 'dual-write', 'Events copied to the target'),
  // A gauge: no `_total` suffix (Prometheus keeps it for counters; `promtool check metrics` flags it).
  EventsTotal: m('EventsTotal', 'Count', 'gauge', ['MigrationId', 'TenantId'], 'migration_events_to_copy', 'dual-write', 'Events to copy'),
  SyncLag: m('SyncLag', 'Count', 'gauge', ['TenantId'], 'migration_dual_write_sync_lag_events', 'dual-write', 'Events the target is behind', { formerPrometheus: 'dual_write_sync_lag_events' }),
  DualWriteFailures: m('DualWriteFailures', 'Count', 'counter', ['TenantId'], 'migration_dual_write_target_failures_total', 'dual-write', 'Target write failures during dual-write', { formerPrometheus: 'dual_write_target_failures_total' }),
  DualWriteOperations: m('DualWriteOperations', 'Count', 'counter', ['Status'], 'migration_dual_write_operations_total', 'dual-write', 'Items written through the search proxy, by status: success (both stores), queued (the follower missed it, kept for replay), single (one store in this stage), replayed, failed, refused', { formerPrometheus: 'dual_write_operations_total' }),
  DualWriteLatency: m('DualWriteLatency', 'Milliseconds', 'histogram', [], 'migration_dual_write_latency_seconds', 'dual-write', 'Time to answer a write through the search proxy (acknowledging store plus the bounded follower write)', { formerPrometheus: 'dual_write_latency_seconds' }),
  CutoverPause: m('CutoverPause', 'Seconds', 'histogram', ['MigrationId'], 'migration_cutover_pause_duration_seconds', 'cutover', 'Write pause during cutover', { formerPrometheus: 'cutover_pause_duration_seconds' }),
  // handler health (platform metrics on AWS/GCP; the handlers count their own errors for Prometheus)
  HandlerErrors: m('HandlerErrors', 'Count', 'counter', ['Handler'], 'migration_handler_errors_total', 'handler', 'Handler invocations that ended in an error', { formerPrometheus: 'handler_errors_total' }),
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

/** The type a metric has in Prometheus (`prometheusType`, else its kind). */
export const prometheusKind = (spec: MetricSpec): MetricKind => spec.prometheusType ?? spec.kind;

/**
 * Prometheus-only metrics of the servers themselves (tracker API, search proxy, log watcher): requests and the
 * build. On Lambda and Cloud Run the platform measures requests and processes, so CloudWatch and Cloud
 * Monitoring have no spec metric for them. Process metrics (`process_*`, `nodejs_*`) keep their standard names.
 */
export const SERVER_METRICS = {
  BuildInfo: { prometheus: 'migration_build_info', kind: 'gauge', labels: ['version', 'revision', 'runtime'], help: 'Always 1: the version, git revision and Node.js runtime of this server' },
  HttpRequests: { prometheus: 'migration_http_requests_total', kind: 'counter', labels: ['method', 'route', 'code'], help: 'HTTP requests answered, by method, route template (never the raw path) and status code' },
  HttpRequestDuration: { prometheus: 'migration_http_request_duration_seconds', kind: 'histogram', labels: ['method', 'route'], help: 'Time to answer an HTTP request, by method and route template' },
} as const satisfies Record<string, { prometheus: string; kind: MetricKind; labels: readonly string[]; help: string }>;

/**
 * The dashboard panels, in order: every metric appears in one. The Grafana export renders all of them
 * (plus one panel per alarm); the CloudWatch and Cloud Monitoring dashboards show the panels their
 * platform carries, under the same titles.
 */
export const DASHBOARD_PANELS: ReadonlyArray<{ title: string; metrics: readonly MetricName[] }> = [
  { title: 'Migration events', metrics: ['PhaseStarted', 'PhaseCompleted', 'PhaseFailed'] },
  { title: 'Phase progress', metrics: ['OverallProgress', 'PhaseProgress'] },
  { title: 'Estimated completion', metrics: ['EstimatedCompletion'] },
  { title: 'Migration state, phases running, failed and stale', metrics: ['MigrationState', 'PhasesRunning', 'PhasesFailed', 'StalePhases', 'MigrationHealth'] },
  { title: 'Phase durations', metrics: ['PhaseDuration'] },
  { title: 'Phase start and end times', metrics: ['PhaseStartTime', 'PhaseEndTime'] },
  { title: 'Data migrated and speed', metrics: ['DataMigrated', 'MigrationSpeed'] },
  { title: 'Error rate and alert counts', metrics: ['ErrorRate', 'AlertsRaised'] },
  { title: 'Resources: CPU, memory, network, storage', metrics: ['CpuUtilization', 'MemoryUtilization', 'NetworkThroughput', 'StorageUsed'] },
  { title: 'Cost: so far, estimated, per GB', metrics: ['CostSoFar', 'EstimatedCost', 'CostPerGB'] },
  { title: 'Control events and progress reports', metrics: ['ControlEvents', 'ProgressUpdates'] },
  { title: 'Bulk copy: events copied and total', metrics: ['EventsCopied', 'EventsTotal'] },
  { title: 'Dual-write: sync lag and target write failures', metrics: ['SyncLag', 'DualWriteFailures'] },
  { title: 'Dual-write through the search proxy: operations and latency', metrics: ['DualWriteOperations', 'DualWriteLatency'] },
  { title: 'Cutover pause', metrics: ['CutoverPause'] },
  { title: 'Validation and verification', metrics: ['ValidationChecks', 'ValidationFailed', 'ValidationGateFailed', 'ValidationSuccessRate', 'VerificationViolations'] },
  { title: 'Search proxy: circuit breaker', metrics: ['BreakerState', 'BreakerTransitions', 'BreakerRejections'] },
  { title: 'Search proxy: requests, fallbacks, latency, shadow overlap', metrics: ['ProxyRequests', 'ProxyFallbacks', 'ProxyLatency', 'ShadowOverlap'] },
  { title: 'Reports produced / failed deliveries', metrics: ['ReportsProduced', 'ReportDeliveryFailures'] },
  { title: 'Alert notifications: failed delivery attempts', metrics: ['AlertDeliveryFailures'] },
  { title: 'Handler health', metrics: ['HandlerErrors'] },
];

export type Severity = 'critical' | 'warning';
export type Comparison = 'gt' | 'gte' | 'lt' | 'lte';
export type Statistic = 'Sum' | 'Maximum' | 'Minimum' | 'Average' | 'SampleCount' | 'p99' | 'p95' | 'p50';

export interface AlarmSpec {
  id: string;
  title: string;
  metric: MetricName;
  statistic: Statistic;
  comparison: Comparison;
  threshold: number;
  /** Seconds per evaluation period. */
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  /** What a period without data means. `breaching` makes silence an alarm (stalled migration, missing report). */
  missingData: 'breaching' | 'notBreaching' | 'ignore' | 'missing';
  severity: Severity;
  /** What the person who is paged should do. */
  runbook: string;
  /** Part of the composite "migration unhealthy" alarm. */
  composite: boolean;
  /**
   * Evaluate only while this condition holds (e.g. "a phase is running"); otherwise the alarm is OK.
   * Renderers combine it with the main condition (CloudWatch metric math, PromQL `and`).
   */
  onlyWhile?: { metric: MetricName; statistic: Statistic; comparison: Comparison; threshold: number };
}

const a = (x: AlarmSpec): AlarmSpec => x;

export const ALARMS: AlarmSpec[] = [
  a({
    id: 'phase-failed',
    title: 'Migration phase failed',
    // A state, not an event: it holds while a phase is failed (not only for the minute the failure came in)
    // and clears when the phase is retried or skipped. The gauge is written on every change and by the
    // sweep; between them a missing datapoint keeps the alarm where it is.
    metric: 'PhasesFailed',
    statistic: 'Maximum',
    comparison: 'gte',
    threshold: 1,
    periodSeconds: 60,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'ignore',
    severity: 'critical',
    runbook: 'A phase reported failure. Open the dashboard, read the phase error and the last activity; fix the cause, then restart the phase (start_phase retries a failed phase) or skip it with a reason.',
    composite: true,
  }),
  a({
    id: 'error-rate-high',
    title: 'Migration error rate above threshold',
    metric: 'ErrorRate',
    statistic: 'Maximum',
    comparison: 'gt',
    threshold: 10,
    periodSeconds: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'notBreaching',
    severity: 'critical',
    runbook: 'More than the allowed share of migration operations are failing. Check target capacity and throttling, look at failedOperations and recent alerts, and pause the migration if the target is rejecting writes.',
    composite: true,
  }),
  a({
    id: 'migration-stalled',
    title: 'Migration stalled: no progress reports',
    metric: 'ProgressUpdates',
    statistic: 'Sum',
    comparison: 'lt',
    threshold: 1,
    periodSeconds: 300,
    evaluationPeriods: 6,
    datapointsToAlarm: 6,
    missingData: 'breaching',
    severity: 'warning',
    runbook: 'No progress report has arrived for 30 minutes. Check that the migration job is still running and can reach the tracker API; if it was paused on purpose, acknowledge this alarm.',
    composite: true,
    onlyWhile: { metric: 'PhasesRunning', statistic: 'Maximum', comparison: 'gte', threshold: 1 },
  }),
  a({
    id: 'breaker-open',
    title: 'Search circuit breaker open',
    metric: 'BreakerState',
    statistic: 'Maximum',
    comparison: 'gte',
    threshold: 2,
    periodSeconds: 60,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'notBreaching',
    severity: 'critical',
    runbook: 'The primary vector backend is failing and searches are served by the fallback (degraded). Check the primary backend health and recent deploys; the breaker probes and closes by itself after recovery.',
    composite: true,
  }),
  a({
    id: 'proxy-latency-slo',
    title: 'Search proxy latency over SLO',
    metric: 'ProxyLatency',
    statistic: 'p99',
    comparison: 'gt',
    threshold: 30,
    periodSeconds: 300,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    missingData: 'notBreaching',
    severity: 'warning',
    runbook: 'Vector search p99 is above the 30 ms SLO. Compare primary and fallback latency on the dashboard; consider shadow mode or routing back to the old backend until the new one is tuned.',
    composite: false,
  }),
  // Severity follows the health a failed run leaves the migration in (lib/core/alerts/severity.ts): a failed
  // gate makes it unhealthy (critical: page, part of the composite), any other failed run degraded (warning).
  a({
    id: 'validation-failed',
    title: 'Validation checks failed',
    metric: 'ValidationFailed',
    statistic: 'Sum',
    comparison: 'gte',
    threshold: 1,
    periodSeconds: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'notBreaching',
    severity: 'warning',
    runbook: 'A validation run failed (latency SLO, resource or data consistency). Read the validation report for the failing checks and their evidence before any cutover. If a failed check is a cutover gate, validation-gate-failed fires too.',
    composite: false,
  }),
  a({
    id: 'validation-gate-failed',
    title: 'Cutover gate failed: do not cut over',
    metric: 'ValidationGateFailed',
    statistic: 'Sum',
    comparison: 'gte',
    threshold: 1,
    periodSeconds: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'notBreaching',
    severity: 'critical',
    runbook: 'A validation check marked as a cutover gate failed: the target does not match the source where it must. `migration-monitor cutover` refuses to move past dual-write until a run passes. Read the validation report for the failing checks and their evidence, fix the copy, and run the validation again.',
    composite: true,
  }),
  // dual-write through the search proxy (seed 002's rules)
  a({
    id: 'dual-write-target-failures',
    title: 'Dual-write: writes to the follower store failing',
    metric: 'DualWriteFailures',
    statistic: 'Sum',
    comparison: 'gte',
    threshold: 1,
    periodSeconds: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'notBreaching',
    severity: 'warning',
    runbook: 'The store that follows writes (the new one in dual-write and shadow, the old one in new-primary) is failing them. Clients are not affected: the writes were acknowledged and queued for replay. Check that store; /health on the proxy shows the write breakers and sync lag, /reconcile the ids waiting.',
    composite: false,
  }),
  a({
    id: 'dual-write-sync-lag',
    title: 'Dual-write: follower store more than 1,000 writes behind',
    metric: 'SyncLag',
    statistic: 'Maximum',
    comparison: 'gt',
    threshold: 1000,
    periodSeconds: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'notBreaching',
    severity: 'critical',
    runbook: 'Writes are queued for the follower store faster than they are replayed. Do not cut over (or roll back) to a store that is behind: bring it back, watch the lag fall to 0 on the dashboard, then move. The queue refuses writes when full (maxReplayQueue).',
    composite: true,
  }),
  a({
    id: 'dual-write-latency',
    title: 'Dual-write: write latency p99 over 100 ms',
    metric: 'DualWriteLatency',
    statistic: 'p99',
    comparison: 'gt',
    threshold: 100,
    periodSeconds: 300,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    missingData: 'notBreaching',
    severity: 'warning',
    runbook: 'Writes through the search proxy take more than 100 ms at p99. Compare the acknowledging store\'s latency with the follower budget (followerBudgetMs); a slow follower should be cut off by its budget and breaker, a slow acknowledging store is the store itself.',
    composite: false,
  }),
  a({
    id: 'handler-errors',
    title: 'Monitoring handler errors',
    metric: 'HandlerErrors',
    statistic: 'Sum',
    comparison: 'gte',
    threshold: 1,
    periodSeconds: 300,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'notBreaching',
    severity: 'warning',
    runbook: 'A monitoring handler (tracker API, report, validation, proxy) is failing. Read its logs (Logs Insights widget on the dashboard) for the error.',
    composite: false,
  }),
  a({
    id: 'report-missing',
    title: 'No status report produced in 26 hours',
    metric: 'ReportsProduced',
    statistic: 'Sum',
    comparison: 'lt',
    threshold: 1,
    periodSeconds: 26 * 3600,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    missingData: 'breaching',
    severity: 'warning',
    runbook: 'The daily report did not run. Check the scheduler job and the report handler logs; run `migration-monitor report` by hand to unblock stakeholders.',
    composite: false,
  }),
];

export type AlarmOverride = Partial<Pick<AlarmSpec, 'threshold' | 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm' | 'severity' | 'missingData'>> & {
  enabled?: boolean;
};

/** An override as it arrives from a config file or context: validated before `resolveSpec`. */
export const alarmOverrideSchema = z.strictObject({
  threshold: z.optional(z.number()),
  periodSeconds: z.optional(z.number().check(z.int(), z.positive())),
  evaluationPeriods: z.optional(z.number().check(z.int(), z.positive())),
  datapointsToAlarm: z.optional(z.number().check(z.int(), z.positive())),
  severity: z.optional(z.enum(['critical', 'warning'])),
  missingData: z.optional(z.enum(['breaching', 'notBreaching', 'ignore', 'missing'])),
  enabled: z.optional(z.boolean()),
}) satisfies z.ZodMiniType<AlarmOverride>;

export interface MonitoringSpec {
  metrics: Record<MetricName, MetricSpec>;
  alarms: AlarmSpec[];
}

/** The spec with per-environment overrides applied (unknown alarm ids are an error, not a silent no-op). */
export function resolveSpec(overrides: Record<string, AlarmOverride> = {}): MonitoringSpec {
  for (const id of Object.keys(overrides)) {
    if (!ALARMS.some((x) => x.id === id)) throw new Error(`unknown alarm id in overrides: "${id}" (known: ${ALARMS.map((x) => x.id).join(', ')})`);
  }
  const alarms = ALARMS.filter((x) => overrides[x.id]?.enabled !== false).map((x) => {
    const { enabled: _e, ...o } = overrides[x.id] ?? {};
    const r = { ...x, ...o };
    if (r.datapointsToAlarm > r.evaluationPeriods) r.datapointsToAlarm = r.evaluationPeriods;
    return r;
  });
  return { metrics: METRICS, alarms };
}
