import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { MonitoringFacade, SnsAlarmActionStrategy, type IDynamicDashboardFactory, type IDynamicDashboardSegment } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { METRICS, type AlarmSpec, type Comparison, type MetricName, type MonitoringSpec } from '../../core/monitoring-spec';

/** Where the spec metrics live in CloudWatch: namespace + the `service` rollup dimension (see EmfMetricsSink). */
export interface MetricSource {
  namespace: string;
  serviceName: string;
}

/**
 * A spec metric as CloudWatch sees it: the handlers' EMF rollup under the `service` dimension (per-phase,
 * per-severity… series carry more dimensions; query those with SEARCH, as the dashboard does).
 */
export function specMetric(src: MetricSource, name: MetricName, opts: cw.MetricOptions = {}): cw.Metric {
  return new cw.Metric({ statistic: METRICS[name].kind === 'gauge' ? 'Maximum' : 'Sum', ...opts, namespace: src.namespace, metricName: METRICS[name].name, dimensionsMap: { service: src.serviceName, ...opts.dimensionsMap } });
}

export interface MonitoredHandler {
  /** Short name used in alarm names and dashboard titles, e.g. `tracker-api`. */
  name: string;
  fn: lambda.IFunction;
}

export interface MigrationAlarmsProps {
  spec: MonitoringSpec;
  metrics: MetricSource;
  topic: sns.ITopic;
  /** Prefix of every alarm name (the stack name). */
  alarmNamePrefix: string;
  handlers: MonitoredHandler[];
  /** Dead-letter queues whose first message is an alarm. */
  deadLetterQueues: Array<{ name: string; queue: sqs.IQueue }>;
}

/** Spec alarms rendered from platform metrics rather than the spec's own metric (see `renderedByPlatform`). */
const PLATFORM_RENDERED = new Set(['handler-errors']);

const COMPARISON: Record<Comparison, cw.ComparisonOperator> = {
  gt: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
  gte: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  lt: cw.ComparisonOperator.LESS_THAN_THRESHOLD,
  lte: cw.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
};
const MISSING: Record<AlarmSpec['missingData'], cw.TreatMissingData> = {
  breaching: cw.TreatMissingData.BREACHING,
  notBreaching: cw.TreatMissingData.NOT_BREACHING,
  ignore: cw.TreatMissingData.IGNORE,
  missing: cw.TreatMissingData.MISSING,
};

/** CloudWatch's limits on an alarm's window (PutMetricAlarm): checked at synth, not at deploy. */
export function checkAlarmWindow(a: Pick<AlarmSpec, 'id' | 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm'>): void {
  const p = a.periodSeconds;
  if (!([10, 20, 30].includes(p) || (p >= 60 && p % 60 === 0))) throw new Error(`alarm ${a.id}: period ${p}s must be 10, 20, 30 or a multiple of 60`);
  const total = p * a.evaluationPeriods;
  const max = p < 3600 ? 86400 : 7 * 86400;
  if (total > max) throw new Error(`alarm ${a.id}: period × evaluation periods = ${total}s exceeds CloudWatch's ${max}s for ${p < 3600 ? 'periods under an hour' : 'alarms'}`);
  if (a.datapointsToAlarm < 1 || a.datapointsToAlarm > a.evaluationPeriods) throw new Error(`alarm ${a.id}: datapointsToAlarm must be 1..evaluationPeriods`);
}

/** A value that breaches (or does not breach) `comparison threshold`. */
const valueThat = (breaches: boolean, c: Comparison, t: number) => ((c === 'lt' || c === 'lte') === breaches ? t - 1 : t + 1);

/** The spec alarm's description: what it means, its severity and the runbook (CloudWatch allows 1024 chars). */
export const alarmDescription = (a: AlarmSpec) => `[${a.severity}] ${a.title}. Runbook: ${a.runbook}`.slice(0, 1024);

/**
 * Renders the monitoring spec's alarms as CloudWatch alarms on the `service` rollup of the EMF metrics,
 * each with SNS alarm and OK actions, plus one composite "migration unhealthy" alarm over the spec alarms
 * marked `composite`. Handler health (errors — the spec's `handler-errors`, read from the platform's Lambda
 * Errors metric because a crashed handler cannot count itself — throttles, and dead-letter queues not
 * empty) goes through cdk-monitoring-constructs' MonitoringFacade, whose segments the dashboard shows.
 */
export class MigrationAlarms extends Construct {
  /** Spec alarms by spec id. */
  readonly alarms = new Map<string, cw.Alarm>();
  readonly composite: cw.CompositeAlarm;
  readonly facade: MonitoringFacade;
  /** Facade dashboard segments (handler health), for MigrationDashboard. */
  readonly healthSegments: Array<{ widgets(): cw.IWidget[] }> = [];

  private readonly source: MetricSource;

  constructor(scope: Construct, id: string, props: MigrationAlarmsProps) {
    super(scope, id);
    this.source = props.metrics;
    const action = new cwActions.SnsAction(props.topic);
    for (const spec of props.spec.alarms) {
      if (PLATFORM_RENDERED.has(spec.id)) continue;
      checkAlarmWindow(spec);
      const alarm = new cw.Alarm(this, spec.id, {
        alarmName: `${props.alarmNamePrefix}-${spec.id}`,
        alarmDescription: alarmDescription(spec),
        metric: this.alarmMetric(spec, props.metrics),
        threshold: spec.threshold,
        comparisonOperator: COMPARISON[spec.comparison],
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        // With an onlyWhile condition the expression fills gaps itself (missing reports breach while a phase runs).
        treatMissingData: spec.onlyWhile ? cw.TreatMissingData.NOT_BREACHING : MISSING[spec.missingData],
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.set(spec.id, alarm);
    }

    const members = props.spec.alarms.filter((a) => a.composite && this.alarms.has(a.id)).map((a) => this.alarms.get(a.id)!);
    this.composite = new cw.CompositeAlarm(this, 'MigrationUnhealthy', {
      compositeAlarmName: `${props.alarmNamePrefix}-migration-unhealthy`,
      alarmDescription: `[critical] Migration unhealthy: one of ${members.length} migration alarms is firing (${props.spec.alarms
        .filter((a) => a.composite && this.alarms.has(a.id))
        .map((a) => a.id)
        .join(', ')}). Open the migration dashboard.`,
      alarmRule: cw.AlarmRule.anyOf(...members),
    });
    this.composite.addAlarmAction(action);
    this.composite.addOkAction(action);

    this.facade = this.handlerHealth(props);
  }

  /** A spec metric, to build alarms or widgets of your own next to these (default statistic: Maximum for gauges, Sum otherwise). */
  metric(name: MetricName, opts: cw.MetricOptions = {}): cw.Metric {
    return specMetric(this.source, name, opts);
  }

  /** All alarms, spec and handler health (not the composite). */
  allAlarms(): cw.IAlarm[] {
    return [...this.alarms.values(), ...this.facade.createdAlarms().map((a) => a.alarm)];
  }

  private alarmMetric(spec: AlarmSpec, src: MetricSource): cw.IMetric {
    const period = Duration.seconds(spec.periodSeconds);
    const metric = (name: MetricName, statistic: string) => specMetric(src, name, { statistic, period });
    const m = metric(spec.metric, spec.statistic);
    if (!spec.onlyWhile) return m;
    const w = spec.onlyWhile;
    const fill = spec.missingData === 'breaching' || spec.missingData === 'notBreaching' ? valueThat(spec.missingData === 'breaching', spec.comparison, spec.threshold) : undefined;
    const value = fill === undefined ? 'm' : `FILL(m, ${fill})`;
    const cond = `FILL(w, 0) ${{ gt: '>', gte: '>=', lt: '<', lte: '<=' }[w.comparison]} ${w.threshold}`;
    return new cw.MathExpression({
      expression: `IF(${cond}, ${value}, ${valueThat(false, spec.comparison, spec.threshold)})`,
      usingMetrics: { m, w: metric(w.metric, w.statistic) },
      label: `${spec.metric} while ${w.metric} ${w.comparison} ${w.threshold}`,
      period,
    });
  }

  private handlerHealth(props: MigrationAlarmsProps): MonitoringFacade {
    const errors = props.spec.alarms.find((a) => a.id === 'handler-errors');
    const collector: IDynamicDashboardFactory = {
      addDynamicSegment: (segment: IDynamicDashboardSegment) => {
        this.healthSegments.push({ widgets: () => segment.widgetsForDashboard('Detail') });
      },
      getDashboard: () => undefined,
    };
    const facade = new MonitoringFacade(this, 'HandlerHealth', {
      alarmFactoryDefaults: {
        alarmNamePrefix: props.alarmNamePrefix,
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: props.topic, onOkTopic: props.topic }),
        datapointsToAlarm: 1,
      },
      dashboardFactory: collector,
    });
    const window = errors
      ? { period: Duration.seconds(errors.periodSeconds), evaluationPeriods: errors.evaluationPeriods, datapointsToAlarm: errors.datapointsToAlarm }
      : { period: Duration.minutes(5), evaluationPeriods: 1, datapointsToAlarm: 1 };
    for (const h of props.handlers) {
      facade.monitorLambdaFunction({
        lambdaFunction: h.fn,
        alarmFriendlyName: h.name,
        humanReadableName: `Handler ${h.name}`,
        ...(errors
          ? {
              addFaultCountAlarm: {
                [errors.severity]: { maxErrorCount: errors.comparison === 'gte' ? errors.threshold - 1 : errors.threshold, ...window, alarmDescriptionOverride: alarmDescription(errors) },
              },
            }
          : {}),
        addThrottlesCountAlarm: {
          warning: { maxErrorCount: 0, ...window, alarmDescriptionOverride: `[warning] Handler ${h.name} throttled. Runbook: raise its reserved concurrency or the account limit, or lower the API throttle.` },
        },
      });
    }
    for (const q of props.deadLetterQueues) {
      facade.monitorSqsQueue({
        queue: q.queue,
        alarmFriendlyName: q.name,
        humanReadableName: `Dead letters: ${q.name}`,
        addQueueMaxSizeAlarm: {
          critical: {
            maxMessageCount: 0,
            period: Duration.minutes(5),
            alarmDescriptionOverride: `[critical] Dead-letter queue ${q.name} is not empty: a delivery or an asynchronous invocation failed after all retries. Runbook: read the messages (they hold the original event), fix the cause, then redrive or delete them.`,
          },
        },
      });
    }
    return facade;
  }
}
