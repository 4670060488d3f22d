/**
 * One monitoring spec, three renderings: every alarm of the spec (with each environment's overrides)
 * appears in the CloudWatch alarms (CDK), the Cloud Monitoring alert policies (CDKTF) and the Prometheus
 * rule file alike, with the same severity; thresholds agree where the platform states them; an alarm
 * disabled by an override is absent from all three; the composite "migration unhealthy" has the same members.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import YAML from 'yaml';
import { CONFIGS, ENVIRONMENTS, alarmOverrides } from '../stacks/aws/config';
import { MigrationAlarms } from '../lib/constructs/aws/migration-alarms';
import { Alerting } from '../lib/constructs/gcp/alerting';
import { resolveSpec, type AlarmOverride, type MonitoringSpec } from '../lib/core/metrics/spec';
import { conditionExpr } from '../lib/core/render/promql';
import { prometheusRulesYaml } from '../lib/core/render/prometheus-rules';
import { resources as cfnResources, template, testStack } from './constructs/aws/helpers';
import { placement, resources as tfResources, synthJson } from './constructs/gcp/synth-helpers';

interface Rendered {
  severity: string;
  /** The threshold as the platform states it, in spec units (undefined where an expression carries it). */
  threshold?: number;
}

function cloudWatch(spec: MonitoringSpec): { alarms: Map<string, Rendered>; compositeMembers: string[] } {
  const stack = testStack();
  const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=()=>{}') });
  new MigrationAlarms(stack, 'Alarms', {
    spec,
    metrics: { namespace: 'MM/cov', serviceName: 'migration-monitor' },
    topic: new sns.Topic(stack, 'Topic'),
    alarmNamePrefix: 'MM-cov',
    handlers: [{ name: 'tracker-api', fn }],
    deadLetterQueues: [{ name: 'dlq', queue: new sqs.Queue(stack, 'Dlq', { removalPolicy: RemovalPolicy.DESTROY }) }],
  });
  const t = template(stack);
  const all = cfnResources(t, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Record<string, any>);
  const alarms = new Map<string, Rendered>();
  for (const a of spec.alarms) {
    // Spec alarms are named `<prefix>-<id>`; handler health goes through cdk-monitoring-constructs, which keeps the spec's description.
    const found = all.find((p) => p['AlarmName'] === `MM-cov-${a.id}`) ?? all.find((p) => String(p['AlarmDescription'] ?? '').startsWith(`[${a.severity}] ${a.title}.`));
    if (!found) continue;
    const severity = /^\[(\w+)\]/.exec(String(found['AlarmDescription']))?.[1] ?? '?';
    alarms.set(a.id, { severity, threshold: found['AlarmName'] === `MM-cov-${a.id}` ? found['Threshold'] : undefined });
  }
  const [[, composite]] = cfnResources(t, 'AWS::CloudWatch::CompositeAlarm') as [[string, any]];
  const rule = JSON.stringify(composite.Properties.AlarmRule);
  const compositeMembers = cfnResources(t, 'AWS::CloudWatch::Alarm')
    .filter(([logicalId]) => rule.includes(`"${logicalId}"`))
    .map(([, r]) => String(r.Properties['AlarmName']).replace(/^MM-cov-/, ''));
  return { alarms, compositeMembers };
}

function cloudMonitoring(spec: MonitoringSpec): Map<string, Rendered> {
  const json = synthJson((s) => new Alerting(s, 'alerting', { placement, spec, services: ['mm-prod-report'], schedulerJobs: [], channels: [] }));
  const out = new Map<string, Rendered>();
  for (const [, p] of tfResources(json, 'google_monitoring_alert_policy')) {
    const threshold = p['conditions'][0]?.['condition_threshold']?.['threshold_value'];
    out.set(p['user_labels']['alarm'], { severity: String(p['severity']).toLowerCase(), threshold });
  }
  return out;
}

function prometheus(spec: MonitoringSpec): { rules: Map<string, Rendered & { expr: string }>; composite: string } {
  const file = YAML.parse(prometheusRulesYaml(spec)) as { groups: Array<{ rules: Array<{ expr: string; labels: Record<string, string> }> }> };
  const rules = new Map<string, Rendered & { expr: string }>();
  let composite = '';
  for (const r of file.groups[0]!.rules) {
    if (r.labels['alarm_id'] === 'migration-unhealthy') composite = r.expr;
    else rules.set(r.labels['alarm_id']!, { severity: r.labels['severity']!, expr: r.expr });
  }
  return { rules, composite };
}

const cases: Array<[string, Record<string, AlarmOverride>]> = [
  ...ENVIRONMENTS.map((env): [string, Record<string, AlarmOverride>] => [env, alarmOverrides(CONFIGS[env])]),
  ['custom overrides', { 'error-rate-high': { threshold: 25, severity: 'warning' }, 'report-missing': { enabled: false } }],
];

describe.each(cases)('spec coverage (%s)', (_name, overrides) => {
  const spec = resolveSpec(overrides);
  const cw = cloudWatch(spec);
  const gcp = cloudMonitoring(spec);
  const prom = prometheus(spec);

  it('renders every spec alarm in CloudWatch, Cloud Monitoring and Prometheus, with the same severity', () => {
    for (const a of spec.alarms) {
      expect([a.id, cw.alarms.get(a.id)?.severity, gcp.get(a.id)?.severity, prom.rules.get(a.id)?.severity]).toEqual([a.id, a.severity, a.severity, a.severity]);
    }
  });

  it('states the same thresholds (Prometheus in base units)', () => {
    for (const a of spec.alarms) {
      const cwT = cw.alarms.get(a.id)?.threshold;
      if (cwT !== undefined && !a.onlyWhile) expect([a.id, cwT]).toEqual([a.id, a.threshold]);
      const promT = Number(/(?:>=|<=|>|<) ([0-9.e-]+)\)?(?: or .*)?$/.exec(prom.rules.get(a.id)!.expr.split(') and on')[0]!)?.[1]);
      // base units and ratios; a state alarm reads the indicator of the breaching states (>= 1)
      expect([a.id, promT]).toEqual([a.id, conditionExpr(a, { by: [], range: '5m' }).threshold]);
    }
  });

  it('leaves disabled alarms out everywhere and gives the composite the same members', () => {
    const disabled = Object.entries(overrides).filter(([, o]) => o.enabled === false).map(([id]) => id);
    for (const id of disabled) expect([cw.alarms.has(id), gcp.has(id), prom.rules.has(id)]).toEqual([false, false, false]);
    const members = spec.alarms.filter((a) => a.composite).map((a) => a.id);
    expect(cw.compositeMembers.sort()).toEqual([...members].sort());
    expect(/alarm_id=~"([^"]*)"/.exec(prom.composite)?.[1]?.split('|').sort()).toEqual([...members].sort());
    expect(prom.rules.size).toBe(spec.alarms.length);
  });
});
