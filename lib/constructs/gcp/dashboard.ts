import { Construct } from 'constructs';
import { MonitoringDashboard } from '@cdktf/provider-google/lib/monitoring-dashboard';
import { METRICS, type MetricName } from '../../core/monitoring-spec';
import type { GcpPlacement } from './common';
import { LogMetrics, labelKey } from './log-metrics';

/**
 * The panels of the migration dashboard, in order: the same as the CloudWatch dashboard
 * (lib/constructs/aws/migration-dashboard.ts), with the same titles; a test compares the two.
 */
export const DASHBOARD_PANELS = [
  { title: 'Alarms', metrics: [] },
  { title: 'Migration events (phase started / completed / failed)', metrics: ['PhaseStarted', 'PhaseCompleted', 'PhaseFailed'] },
  { title: 'Phase progress (%)', metrics: ['PhaseProgress'] },
  { title: 'Overall progress (%) and phases running', metrics: ['OverallProgress', 'PhasesRunning', 'StalePhases'] },
  { title: 'Data migrated (bytes) and speed (bytes/s)', metrics: ['DataMigrated', 'MigrationSpeed'] },
  { title: 'Error rate (%)', metrics: ['ErrorRate'] },
  { title: 'Alerts raised by severity', metrics: ['AlertsRaised'] },
  { title: 'Control events (pause / resume) and progress reports', metrics: ['ControlEvents', 'ProgressUpdates'] },
  { title: 'Search proxy: breaker state and p99 latency (ms)', metrics: ['BreakerState', 'ProxyLatency'] },
  { title: 'Validation: checks by result, failed runs', metrics: ['ValidationChecks', 'ValidationFailed'] },
  { title: 'Reports produced / failed deliveries', metrics: ['ReportsProduced', 'ReportDeliveryFailures'] },
  { title: 'Handler health', metrics: ['HandlerErrors'] },
  { title: 'Logs', metrics: [] },
] as const satisfies ReadonlyArray<{ title: string; metrics: readonly MetricName[] }>;

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
        panel.title === 'Logs'
          ? { title: panel.title, logsPanel: { filter: `resource.type="cloud_run_revision" AND ${serviceFilter} AND severity>=WARNING` } }
          : panel.title === 'Alarms'
            ? // open incidents of every policy in the project (naming the policies would put references in the JSON)
              { title: panel.title, incidentList: {} }
            : { title: panel.title, xyChart: { chartOptions: { mode: 'COLOR' }, dataSets: this.dataSets(panel.title, panel.metrics, metrics, serviceFilter) } };
      return { widget, full: panel.title === 'Logs' || panel.title === 'Alarms' };
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
    if (title === 'Handler health') {
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
