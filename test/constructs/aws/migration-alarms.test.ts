import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MigrationAlarms, checkAlarmWindow } from '../../../lib/constructs/aws/migration-alarms';
import { MigrationDashboard } from '../../../lib/constructs/aws/migration-dashboard';
import { ALARMS, resolveSpec } from '../../../lib/core/metrics/spec';
import { resources, template, testStack } from './helpers';

function build(overrides = {}) {
  const stack = testStack();
  const topic = new sns.Topic(stack, 'Topic');
  const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=()=>{}') });
  const dlq = new sqs.Queue(stack, 'Dlq', { removalPolicy: RemovalPolicy.DESTROY });
  const spec = resolveSpec(overrides);
  const alarms = new MigrationAlarms(stack, 'Alarms', {
    spec,
    metrics: { namespace: 'MM/test', serviceName: 'migration-monitor' },
    topic,
    alarmNamePrefix: 'MM-test',
    handlers: [{ name: 'tracker-api', fn }],
    deadLetterQueues: [{ name: 'failed-invocations', queue: dlq }],
  });
  return { stack, topic, alarms, spec };
}

const byName = (t: ReturnType<typeof template>) =>
  Object.fromEntries(resources(t, 'AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties['AlarmName'], r.Properties])) as Record<string, any>;

describe('MigrationAlarms', () => {
  it('metric() hands out spec metrics for alarms of your own (rollup by service, statistic by kind)', () => {
    const { alarms } = build();
    const gauge = alarms.metric('ErrorRate');
    expect(gauge).toMatchObject({ namespace: 'MM/test', metricName: 'ErrorRate', statistic: 'Maximum', dimensions: { service: 'migration-monitor' } });
    const counter = alarms.metric('PhaseFailed', { period: Duration.minutes(1), dimensionsMap: { Phase: 'database' } });
    expect(counter).toMatchObject({ metricName: 'PhaseFailed', statistic: 'Sum', dimensions: { service: 'migration-monitor', Phase: 'database' } });
    expect(counter.period.toSeconds()).toBe(60);
  });

  it('renders every spec alarm on the service rollup with its threshold, window, runbook and SNS alarm + OK actions (composite members: none)', () => {
    const { stack, topic } = build();
    const t = template(stack);
    const alarms = byName(t);
    const topicRef = { Ref: stack.getLogicalId(topic.node.defaultChild as never) };
    for (const spec of ALARMS.filter((a) => a.id !== 'handler-errors')) {
      const a = alarms[`MM-test-${spec.id}`];
      expect(a).toBeDefined();
      expect(a.Threshold).toBe(spec.threshold);
      expect(a.EvaluationPeriods).toBe(spec.evaluationPeriods);
      expect(a.DatapointsToAlarm).toBe(spec.datapointsToAlarm);
      expect(a.AlarmDescription).toContain(spec.runbook.slice(0, 60));
      expect(a.AlarmDescription).toMatch(new RegExp(`^\\[${spec.severity}\\]`));
      expect(a.AlarmActions).toEqual(spec.composite ? undefined : [topicRef]);
      expect(a.OKActions).toEqual(spec.composite ? undefined : [topicRef]);
      if (!spec.onlyWhile) {
        expect(a).toMatchObject({ Namespace: 'MM/test', MetricName: spec.metric, Dimensions: [{ Name: 'service', Value: 'migration-monitor' }], Period: spec.periodSeconds });
      }
    }
    expect(alarms['MM-test-error-rate-high']).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Maximum', TreatMissingData: 'notBreaching' });
    expect(alarms['MM-test-proxy-latency-slo']).toMatchObject({ ExtendedStatistic: 'p99', Threshold: 30 });
    expect(alarms['MM-test-report-missing']).toMatchObject({ TreatMissingData: 'breaching', Period: 26 * 3600 });
  });

  it('alarms on silence only while a phase runs: missing progress reports breach inside the expression', () => {
    const { stack } = build();
    const a = byName(template(stack))['MM-test-migration-stalled'];
    const expr = a.Metrics.find((m: any) => m.Expression).Expression as string;
    expect(expr).toBe('IF(FILL(w, 0) >= 1, FILL(m, 0), 2)');
    expect(a.ComparisonOperator).toBe('LessThanThreshold');
    expect(a.Threshold).toBe(1);
    expect(a.TreatMissingData).toBe('notBreaching');
    const ids = Object.fromEntries(a.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat.Metric.MetricName]));
    expect(ids).toEqual({ m: 'ProgressUpdates', w: 'PhasesRunning' });
  });

  it('applies per-environment overrides and drops disabled alarms', () => {
    const { stack } = build({ 'error-rate-high': { threshold: 25 }, 'proxy-latency-slo': { enabled: false }, 'migration-stalled': { evaluationPeriods: 12, datapointsToAlarm: 12 } });
    const alarms = byName(template(stack));
    expect(alarms['MM-test-error-rate-high'].Threshold).toBe(25);
    expect(alarms['MM-test-proxy-latency-slo']).toBeUndefined();
    expect(alarms['MM-test-migration-stalled'].EvaluationPeriods).toBe(12);
  });

  it('composes one "migration unhealthy" composite alarm from the spec alarms marked composite', () => {
    const { stack, alarms } = build();
    const t = template(stack);
    const [[, comp]] = resources(t, 'AWS::CloudWatch::CompositeAlarm') as [[string, any]];
    expect(comp.Properties.AlarmName).toBe('MM-test-migration-unhealthy');
    const rule = JSON.stringify(comp.Properties.AlarmRule);
    for (const spec of ALARMS) {
      const member = alarms.alarms.get(spec.id);
      if (!member) continue;
      const ref = stack.getLogicalId(member.node.defaultChild as never);
      expect(rule.includes(ref)).toBe(spec.composite);
    }
    expect(comp.Properties.AlarmActions).toHaveLength(1);
    expect(comp.Properties.OKActions).toHaveLength(1);
  });

  it('one incident, one mail: a composite member never notifies itself, the composite notifies once for it', () => {
    const { stack, topic } = build();
    const t = template(stack);
    const topicRef = { Ref: stack.getLogicalId(topic.node.defaultChild as never) };
    const [[, comp]] = resources(t, 'AWS::CloudWatch::CompositeAlarm') as [[string, any]];
    const rule = JSON.stringify(comp.Properties.AlarmRule);
    const notifying: string[] = [];
    for (const [id, a] of resources(t, 'AWS::CloudWatch::Alarm')) {
      const member = rule.includes(id);
      const actions = [...(a.Properties['AlarmActions'] ?? []), ...(a.Properties['OKActions'] ?? [])];
      if (member) expect(`${a.Properties['AlarmName']}: ${actions.length}`).toBe(`${a.Properties['AlarmName']}: 0`);
      else notifying.push(a.Properties['AlarmName']);
    }
    expect(ALARMS.filter((a) => a.composite).length).toBeGreaterThan(1);
    expect(comp.Properties.AlarmActions).toEqual([topicRef]);
    expect(comp.Properties.OKActions).toEqual([topicRef]);
    expect(notifying).toContain('MM-test-report-missing'); // not a member: notifies itself
  });

  it('watches handler errors (the spec alarm, from Lambda Errors), throttles and dead letters through MonitoringFacade', () => {
    const { stack } = build();
    const t = template(stack);
    const alarms = resources(t, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    const on = (ns: string, name: string): any => alarms.find((a) => a.Metrics?.[0]?.MetricStat?.Metric?.Namespace === ns && a.Metrics[0].MetricStat.Metric.MetricName === name);
    const errors = on('AWS/Lambda', 'Errors');
    expect(errors).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmName: 'MM-test-tracker-api-Fault-Count-warning' });
    expect(errors.Metrics[0].MetricStat).toMatchObject({ Period: 300, Stat: 'Sum' });
    expect(errors.AlarmDescription).toContain('Monitoring handler errors');
    expect(on('AWS/Lambda', 'Throttles')).toMatchObject({ Threshold: 0 });
    const dlq = on('AWS/SQS', 'ApproximateNumberOfMessagesVisible');
    expect(dlq).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    for (const a of [errors, dlq]) expect(a.AlarmActions).toHaveLength(1);
    for (const a of [errors, dlq]) expect(a.OKActions).toHaveLength(1);
  });

  it('refuses alarm windows CloudWatch would reject, at synth', () => {
    expect(() => checkAlarmWindow({ id: 'x', periodSeconds: 300, evaluationPeriods: 300, datapointsToAlarm: 1 })).toThrow(/alarm x: period × evaluation periods = 90000s exceeds CloudWatch's 86400s/);
    expect(() => checkAlarmWindow({ id: 'y', periodSeconds: 90, evaluationPeriods: 1, datapointsToAlarm: 1 })).toThrow(/period 90s must be/);
    expect(() => checkAlarmWindow({ id: 'z', periodSeconds: 3600, evaluationPeriods: 100, datapointsToAlarm: 1 })).not.toThrow();
  });
});

describe('MigrationDashboard', () => {
  it('shows progress, events, errors, alerts, control events, handler health, alarms and a Logs Insights query', () => {
    const { stack, alarms, spec } = build();
    const fnLogs = new (require('aws-cdk-lib/aws-logs').LogGroup)(stack, 'Logs', { retention: 7 });
    new MigrationDashboard(stack, 'Dash', {
      dashboardName: 'MM-test-migration',
      spec,
      metrics: { namespace: 'MM/test', serviceName: 'migration-monitor' },
      alarms: [...alarms.allAlarms(), alarms.composite],
      healthSegments: alarms.healthSegments,
      logGroups: [fnLogs],
    });
    const t = template(stack);
    const [[, dash]] = resources(t, 'AWS::CloudWatch::Dashboard') as [[string, any]];
    expect(dash.Properties.DashboardName).toBe('MM-test-migration');
    const body = JSON.stringify(dash.Properties.DashboardBody);
    for (const m of ['PhaseProgress', 'OverallProgress', 'PhaseStarted', 'PhaseFailed', 'DataMigrated', 'MigrationSpeed', 'ErrorRate', 'AlertsRaised', 'ControlEvents', 'BreakerState', 'ProxyLatency', 'ValidationChecks']) {
      expect(body).toContain(`MetricName=\\\\\\"${m}\\\\\\"`);
    }
    expect(body).toContain('SEARCH(');
    expect(body).toContain('MigrationId,Phase,service');
    expect(body).toContain('AWS/Lambda'); // handler health segment (errors, throttles, duration)
    expect(body).toContain('Duration');
    expect(body).toContain('"type\\":\\"log\\"');
    expect(body).toContain('filter level in');
    expect(body).toContain('"type\\":\\"alarm\\"');
  });
});
