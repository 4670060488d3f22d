import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS, type MetricName, type MonitoringSpec } from '../../core/metrics/spec';
import { specMetric, type MetricSource } from './migration-alarms';

export interface MigrationDashboardProps {
  dashboardName: string;
  spec: MonitoringSpec;
  metrics: MetricSource;
  /** Alarms shown in the alarm status widget. */
  alarms: cw.IAlarm[];
  /** Handler health segments (cdk-monitoring-constructs), from MigrationAlarms. */
  healthSegments: Array<{ widgets(): cw.IWidget[] }>;
  /** Handler log groups for the Logs Insights widget. */
  logGroups: logs.ILogGroup[];
  /** Markdown shown at the top (how to call the API, where the runbooks are). */
  intro?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * The migration dashboard: migration events, phase and overall progress, data migrated and speed, error
 * rate and alerts, pause/resume events, search-proxy and validation results (when those parts emit), the
 * handler health segments, every alarm's state, and a Logs Insights widget over the handlers' logs.
 * Per-migration and per-phase lines come from SEARCH expressions, so new migrations appear without a deploy.
 */
export class MigrationDashboard extends Construct {
  readonly dashboard: cw.Dashboard;

  constructor(scope: Construct, id: string, props: MigrationDashboardProps) {
    super(scope, id);
    const { namespace } = props.metrics;
    /** Every series of a spec metric, one line per value of its dimensions. */
    const search = (name: MetricName, statistic: string, label?: string) => {
      const dims = [...METRICS[name].dimensions, 'service'].join(',');
      return new cw.MathExpression({
        expression: `SEARCH('{"${namespace}",${dims}} MetricName="${METRICS[name].name}"', '${statistic}', ${PERIOD.toSeconds()})`,
        usingMetrics: {},
        label: label ?? '',
        period: PERIOD,
      });
    };
    const rollup = (name: MetricName, statistic: string) =>
      specMetric(props.metrics, name, { statistic, period: PERIOD, label: `${name} (all)` });
    const threshold = (alarmId: string) => {
      const a = props.spec.alarms.find((x) => x.id === alarmId);
      return a ? [{ value: a.threshold, label: `${a.id} (${a.severity})`, color: a.severity === 'critical' ? '#d62728' : '#ff7f0e' }] : [];
    };
    const graph = (title: string, left: cw.IMetric[], extra: Partial<cw.GraphWidgetProps> = {}) => new cw.GraphWidget({ title, left, width: 12, height: 6, ...extra });

    this.dashboard = new cw.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(6) });
    if (props.intro) this.dashboard.addWidgets(new cw.TextWidget({ markdown: props.intro, width: 24, height: 3 }));
    this.dashboard.addWidgets(
      new cw.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      graph('Migration events (phase started / completed / failed)', [search('PhaseStarted', 'Sum'), search('PhaseCompleted', 'Sum'), search('PhaseFailed', 'Sum')], {
        view: cw.GraphWidgetView.BAR,
      }),
      graph('Phase progress (%)', [search('PhaseProgress', 'Maximum')], { leftYAxis: { min: 0, max: 100 } }),
    );
    this.dashboard.addWidgets(
      graph('Overall progress (%) and phases running', [search('OverallProgress', 'Maximum')], {
        leftYAxis: { min: 0, max: 100 },
        right: [search('PhasesRunning', 'Maximum'), search('StalePhases', 'Maximum')],
      }),
      graph('Data migrated (bytes) and speed (bytes/s)', [search('DataMigrated', 'Maximum')], { right: [search('MigrationSpeed', 'Average')] }),
    );
    this.dashboard.addWidgets(
      graph('Error rate (%)', [search('ErrorRate', 'Maximum')], { leftAnnotations: threshold('error-rate-high'), leftYAxis: { min: 0 } }),
      graph('Alerts raised by severity', [search('AlertsRaised', 'Sum')], { view: cw.GraphWidgetView.BAR }),
    );
    this.dashboard.addWidgets(
      graph('Control events (pause / resume) and progress reports', [search('ControlEvents', 'Sum')], { right: [rollup('ProgressUpdates', 'Sum')] }),
      graph('Search proxy: breaker state and p99 latency (ms)', [search('BreakerState', 'Maximum')], {
        right: [search('ProxyLatency', 'p99')],
        rightAnnotations: threshold('proxy-latency-slo'),
      }),
    );
    this.dashboard.addWidgets(
      graph('Validation: checks by result, failed runs', [search('ValidationChecks', 'Sum')], { right: [rollup('ValidationFailed', 'Sum')] }),
      graph('Reports produced / failed deliveries', [search('ReportsProduced', 'Sum'), search('ReportDeliveryFailures', 'Sum')]),
    );
    // what the migration job reports with update_metrics (absent until reported); cost lines per Currency
    this.dashboard.addWidgets(
      graph('Resources: CPU, memory, network, storage', [search('CpuUtilization', 'Maximum'), search('MemoryUtilization', 'Maximum')], {
        leftYAxis: { min: 0, max: 100 },
        right: [search('NetworkThroughput', 'Average'), search('StorageUsed', 'Maximum')],
      }),
      graph('Cost: so far, estimated, per GB', [search('CostSoFar', 'Maximum'), search('EstimatedCost', 'Maximum')], { right: [search('CostPerGB', 'Maximum')] }),
    );
    for (const seg of props.healthSegments) {
      const widgets = seg.widgets();
      if (widgets.length) this.dashboard.addWidgets(...widgets);
    }
    if (props.logGroups.length) {
      this.dashboard.addWidgets(
        new cw.LogQueryWidget({
          title: 'Handler warnings and errors (Logs Insights)',
          logGroupNames: props.logGroups.map((g) => g.logGroupName),
          queryLines: [
            'fields @timestamp, service, level, message, error.message, @requestId',
            'filter level in ["WARN", "ERROR", "CRITICAL"] or @message like /Task timed out|Runtime\\./',
            'sort @timestamp desc',
            'limit 100',
          ],
          view: cw.LogQueryVisualizationType.TABLE,
          width: 24,
          height: 8,
        }),
      );
    }
  }
}
