import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { MonitoringFacade, SnsAlarmActionStrategy, type IDynamicDashboardFactory, type IDynamicDashboardSegment } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { specAlarmDescription } from '../../core/metrics/alarm-meaning';
import type { MetricName, MonitoringSpec } from '../../core/metrics/spec';
import { SpecAlarmFactory, specMetric, type MetricSource } from './spec-alarm-factory';

export { checkAlarmWindow, specMetric, type MetricSource } from './spec-alarm-factory';

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

/** The spec alarm's description (kept as an export for callers of this module; the meaning lives in core). */
export const alarmDescription = specAlarmDescription;

/**
 * Renders the monitoring spec's alarms as CloudWatch alarms on the `service` rollup of the EMF metrics,
 * plus one composite "migration unhealthy" alarm over the spec alarms marked `composite`. The composite
 * notifies for its members (they carry no actions: one incident, one ALARM and one OK mail); the other spec
 * alarms notify themselves. Handler health (errors — the spec's `handler-errors`, read from the platform's Lambda
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
    const factory = new SpecAlarmFactory({ metrics: props.metrics, alarmNamePrefix: props.alarmNamePrefix, topic: props.topic });
    const action = factory.snsAction!;
    for (const spec of props.spec.alarms) {
      if (PLATFORM_RENDERED.has(spec.id)) continue;
      // One incident, one mail: members of the composite stay silent; the composite notifies for them.
      this.alarms.set(spec.id, factory.create(this, spec.id, spec, { notify: !spec.composite }));
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
