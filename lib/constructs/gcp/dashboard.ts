import { Construct } from 'constructs';
import { MonitoringDashboard } from '@cdktf/provider-google/lib/monitoring-dashboard';
import { DASHBOARD_PANELS as SPEC_PANELS, METRICS, type MetricName } from '../../core/metrics/spec';
import type { GcpPlacement } from './common';
import { LogMetrics, labelKey } from './log-metrics';

type Panel = { title: string; metrics: readonly MetricName[] };

function specPanel(title: string): Panel {
  const p = SPEC_PANELS.find((x) => x.title === title);
  if (!p) throw new Error(`no spec dashboard panel "${title}" (lib/core/metrics/spec.ts DASHBOARD_PANELS)`);
  return p;
}

/**
 * The CloudWatch dashboard's graphs (lib/constructs/aws/migration-dashboard.ts), in its order and under its
 * titles, so both clouds' dashboards read alike (a test reads that file and fails when a title drifts). Where
 * a graph shows exactly a spec panel's metrics, the metrics come from the spec; where CloudWatch groups the
 * metrics differently from the spec, its grouping is written out here.
 */
const CLOUDWATCH_GRAPHS: Panel[] = [
  { ...specPanel('Migration events'), title: 'Migration events (phase started / completed / failed)' },
  { title: 'Phase progress (%)', metrics: ['PhaseProgress'] },
  { title: 'Overall progress (%) and phases running', metrics: ['OverallProgress', 'PhasesRunning', 'StalePhases'] },
  { ...specPanel('Data migrated and speed'), title: 'Data migrated (bytes) and speed (bytes/s)' },
  { title: 'Error rate (%)', metrics: ['ErrorRate'] },
  { title: 'Alerts raised by severity', metrics: ['AlertsRaised'] },
  { ...specPanel('Control events and progress reports'), title: 'Control events (pause / resume) and progress reports' },
  { title: 'Search proxy: breaker state and p99 latency (ms)', metrics: ['BreakerState', 'ProxyLatency'] },
  { title: 'Validation: checks by result, failed runs', metrics: ['ValidationChecks', 'ValidationFailed'] },
  specPanel('Reports produced / failed deliveries'),
  specPanel('Resources: CPU, memory, network, storage'),
  specPanel('Cost: so far, estimated, per GB'),
];

const ALARMS_PANEL = 'Alarms';
const LOGS_PANEL = 'Logs';
/** The spec panel that also gets the Cloud Run platform series (requests by response class, p99 latency). */
const HEALTH_PANEL = specPanel('Handler health').title;

const onCloudWatch = new Set(CLOUDWATCH_GRAPHS.flatMap((p) => p.metrics));

/**
 * The panels of the migration dashboard, in order: the open incidents; the CloudWatch dashboard's graphs;
 * then every spec panel (as the Grafana export shows it, same title and metrics) with a metric those graphs
 * leave out (bulk copy, dual-write and cutover from log ingest, phase durations, verification, breaker
 * transitions, proxy requests, handler health...); the handlers' warning logs last.
 */
export const DASHBOARD_PANELS: readonly Panel[] = [
  { title: ALARMS_PANEL, metrics: [] },
  ...CLOUDWATCH_GRAPHS,
  ...SPEC_PANELS.filter((p) => p.metrics.some((m) => !onCloudWatch.has(m))),
  { title: LOGS_PANEL, metrics: [] },
];

export interface DashboardProps {
  placement: GcpPlacement;
  metrics: LogMetrics;
  /** Cloud Run service names of the handlers (handler health and logs). */
  services: string[];
}

type DataSet = Record<string, unknown>;

/**
 * A Cloud Monitoring dashboard (mosaic layout, 12 columns, two panels per row) over the log-based spec
 * metrics and the Cloud Run platform metrics of the handlers.
 */
export class MigrationDashboard extends Construct {
  readonly dashboard: MonitoringDashboard;
  /** The rendered dashboard JSON (before Terraform references are resolved), for tests and HCL output. */
  readonly body: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const { placement, metrics, services } = props;
    const serviceFilter = `resource.labels.service_name=(${services.map((s) => JSON.stringify(s)).join(' OR ')})`;
    const cells = DASHBOARD_PANELS.map((panel) => {
      const widget =
        panel.title === LOGS_PANEL
          ? { title: panel.title, logsPanel: { filter: `resource.type="cloud_run_revision" AND ${serviceFilter} AND severity>=WARNING` } }
          : panel.title === ALARMS_PANEL
            ? // open incidents of every policy in the project (naming the policies would put references in the JSON)
              { title: panel.title, incidentList: {} }
            : { title: panel.title, xyChart: { chartOptions: { mode: 'COLOR' }, dataSets: this.dataSets(panel.title, panel.metrics, metrics, serviceFilter) } };
      return { widget, full: panel.title === LOGS_PANEL || panel.title === ALARMS_PANEL };
    });
    // Two panels per row; Alarms and Logs take a whole row.
    let x = 0;
    let y = 0;
    const tiles = cells.map(({ widget, full }) => {
      if (full && x > 0) (x = 0), (y += 4);
      const tile = { xPos: x, yPos: y, width: full ? 12 : 6, height: 4, widget };
      if (full || x === 6) (x = 0), (y += 4);
      else x = 6;
      return tile;
    });
    this.body = { displayName: `Migration monitor (${placement.env})`, mosaicLayout: { columns: 12, tiles }, labels: { [placement.env]: '' } };
    this.dashboard = new MonitoringDashboard(this, 'dashboard', { project: placement.project, dashboardJson: JSON.stringify(this.body), dependsOn: metrics.all });
  }

  private dataSets(title: string, names: readonly MetricName[], metrics: LogMetrics, serviceFilter: string): DataSet[] {
    const sets: DataSet[] = names.map((name) => {
      const spec = METRICS[name];
      const m = metrics.metric(name);
      const counter = spec.kind === 'counter';
      const groupBy = spec.dimensions.filter((d) => d !== 'MigrationId').map((d) => `metric.label.${labelKey(d)}`);
      return {
        plotType: counter ? 'STACKED_BAR' : 'LINE',
        legendTemplate: name,
        targetAxis: 'Y1',
        timeSeriesQuery: {
          timeSeriesFilter: {
            filter: metrics.filterOf(m, true),
            aggregation: {
              alignmentPeriod: '300s',
              // counters: events per 5 min; gauges: the high value of the window (p99 of the distribution)
              perSeriesAligner: counter ? 'ALIGN_DELTA' : 'ALIGN_PERCENTILE_99',
              crossSeriesReducer: counter ? 'REDUCE_SUM' : 'REDUCE_MAX',
              groupByFields: groupBy,
            },
          },
        },
      };
    });
    if (title === HEALTH_PANEL) {
      sets.push(
        {
          plotType: 'STACKED_BAR',
          legendTemplate: 'requests by response class',
          targetAxis: 'Y1',
          timeSeriesQuery: {
            timeSeriesFilter: {
              filter: `metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND ${serviceFilter}`,
              aggregation: { alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_DELTA', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['resource.labels.service_name', 'metric.labels.response_code_class'] },
            },
          },
        },
        {
          plotType: 'LINE',
          legendTemplate: 'p99 latency',
          targetAxis: 'Y2',
          timeSeriesQuery: {
            timeSeriesFilter: {
              filter: `metric.type="run.googleapis.com/request_latencies" AND resource.type="cloud_run_revision" AND ${serviceFilter}`,
              aggregation: { alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_PERCENTILE_99', crossSeriesReducer: 'REDUCE_MAX', groupByFields: ['resource.labels.service_name'] },
            },
          },
        },
      );
    }
    return sets;
  }
}
