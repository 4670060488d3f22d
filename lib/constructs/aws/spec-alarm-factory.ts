import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { COMPARISON_SYMBOL, specAlarmDescription, specAlarmName, valueThat } from '../../core/metrics/alarm-meaning';
import { METRICS, type AlarmSpec, type Comparison, type MetricName } from '../../core/metrics/spec';

/** Where the spec metrics live in CloudWatch: namespace + the `service` rollup dimension (see EmfMetricsSink). */
export interface MetricSource {
  readonly namespace: string;
  readonly serviceName: string;
}

/**
 * A spec metric as CloudWatch sees it: the handlers' EMF rollup under the `service` dimension (per-phase,
 * per-severity… series carry more dimensions; query those with SEARCH, as the dashboard does).
 */
export function specMetric(src: MetricSource, name: MetricName, opts: cw.MetricOptions = {}): cw.Metric {
  return new cw.Metric({ statistic: METRICS[name].kind === 'gauge' ? 'Maximum' : 'Sum', ...opts, namespace: src.namespace, metricName: METRICS[name].name, dimensionsMap: { service: src.serviceName, ...opts.dimensionsMap } });
}

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

export interface SpecAlarmFactoryProps {
  /** Where the spec metrics are. */
  readonly metrics: MetricSource;
  /** Prefix of every alarm name (the stack name, which carries the environment). */
  readonly alarmNamePrefix: string;
  /**
   * Topic the alarms notify (ALARM and OK).
   * @default - no actions
   */
  readonly topic?: sns.ITopic;
}

/**
 * The one CloudWatch rendering of a spec alarm, used by MigrationAlarms and the search proxy: name,
 * description, metric (or the `onlyWhile` metric-math expression), comparison, window and missing-data
 * treatment, from the meaning computed in lib/core/metrics/alarm-meaning.ts.
 */
export class SpecAlarmFactory {
  private readonly action?: cwActions.SnsAction;

  constructor(private readonly props: SpecAlarmFactoryProps) {
    this.action = props.topic ? new cwActions.SnsAction(props.topic) : undefined;
  }

  /**
   * One spec alarm. `notify: false` leaves out the actions (a composite member: the composite notifies,
   * so one incident sends one mail).
   */
  create(scope: Construct, id: string, spec: AlarmSpec, opts: { notify?: boolean } = {}): cw.Alarm {
    checkAlarmWindow(spec);
    const alarm = new cw.Alarm(scope, id, {
      alarmName: specAlarmName(this.props.alarmNamePrefix, spec.id),
      alarmDescription: specAlarmDescription(spec),
      metric: this.alarmMetric(spec),
      threshold: spec.threshold,
      comparisonOperator: COMPARISON[spec.comparison],
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm,
      // With an onlyWhile condition the expression fills gaps itself (missing reports breach while a phase runs).
      treatMissingData: spec.onlyWhile ? cw.TreatMissingData.NOT_BREACHING : MISSING[spec.missingData],
    });
    if (this.action && opts.notify !== false) {
      alarm.addAlarmAction(this.action);
      alarm.addOkAction(this.action);
    }
    return alarm;
  }

  /** The topic action, for alarms built elsewhere (the composite). */
  get snsAction(): cwActions.SnsAction | undefined {
    return this.action;
  }

  private alarmMetric(spec: AlarmSpec): cw.IMetric {
    const period = Duration.seconds(spec.periodSeconds);
    const metric = (name: MetricName, statistic: string) => specMetric(this.props.metrics, name, { statistic, period });
    const m = metric(spec.metric, spec.statistic);
    if (!spec.onlyWhile) return m;
    const w = spec.onlyWhile;
    const fill = spec.missingData === 'breaching' || spec.missingData === 'notBreaching' ? valueThat(spec.missingData === 'breaching', spec.comparison, spec.threshold) : undefined;
    const value = fill === undefined ? 'm' : `FILL(m, ${fill})`;
    const cond = `FILL(w, 0) ${COMPARISON_SYMBOL[w.comparison]} ${w.threshold}`;
    return new cw.MathExpression({
      expression: `IF(${cond}, ${value}, ${valueThat(false, spec.comparison, spec.threshold)})`,
      usingMetrics: { m, w: metric(w.metric, w.statistic) },
      label: `${spec.metric} while ${w.metric} ${w.comparison} ${w.threshold}`,
      period,
    });
  }
}
