/**
 * dev, staging and prod side by side in one AWS account/region and one GCP project: no physical name is
 * shared; staging and prod refuse to synthesize without on-call addresses (dev warns); and each environment's
 * health thresholds (what the handlers are told) equal its alarm thresholds, on both clouds.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Testing } from 'cdktf';
import { ENVIRONMENT_SETTINGS, ENVIRONMENTS, type EnvName } from '../../lib/config/environments';
import { GcpConfigError, loadGcpConfig } from '../../stacks/gcp/config';
import { GcpMonitoringStack } from '../../stacks/gcp/monitoring-stack';
import { buildApp } from '../../stacks/aws/main';
import { CI_ENV, configFor, stackJson } from './gcp/helpers';
import { AWS_VARIANTS, cdkJsonContext } from './variants';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'environments-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** CloudFormation properties that hold a physical name (unique in an account and region). */
const AWS_NAME_PROPS = ['Name', 'AlarmName', 'DashboardName', 'LogGroupName', 'BucketName', 'TableName', 'FunctionName', 'RoleName', 'TopicName', 'QueueName', 'SecretName', 'ManagedPolicyName', 'GroupName', 'ApiName', 'StateMachineName', 'KeyAlias', 'AliasName'];
/** Terraform attributes that hold a name unique in a project (per resource type). */
const GCP_NAME_ATTRS = ['name', 'account_id', 'secret_id', 'job_id', 'topic', 'dataset_id', 'service_id'];

const awsTemplates = {} as Record<EnvName, { Resources: Record<string, any> }>;
const awsWarnings = {} as Record<EnvName, string[]>;
const gcpJson = {} as Record<EnvName, Record<string, any>>;

function synthAws(context: Record<string, unknown>) {
  const app = new App({ outdir: fs.mkdtempSync(path.join(scratch, 'aws-')), analyticsReporting: false, builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  const { stack } = buildApp(app);
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  return { template: artifact.template, warnings: artifact.messages.filter((m) => m.level === 'warning').map((m) => String(m.entry.data)) };
}

beforeAll(() => {
  for (const env of ENVIRONMENTS) {
    const { template, warnings } = synthAws(AWS_VARIANTS[env]);
    awsTemplates[env] = template;
    awsWarnings[env] = warnings;
    gcpJson[env] = stackJson(configFor(env));
  }
}, 240_000);

/** Literal physical names of a template: `Type name`. Names made by CloudFormation (unset) cannot collide. */
function awsNames(t: { Resources: Record<string, any> }): string[] {
  const out: string[] = [];
  for (const r of Object.values(t.Resources)) {
    for (const p of AWS_NAME_PROPS) {
      const v = r.Properties?.[p];
      // A Ref/GetAtt names a resource of this template (unique by construction); a permission's FunctionName is not its name.
      if (v === undefined || r.Type === 'AWS::Lambda::Permission' || (typeof v === 'object' && ('Ref' in v || 'Fn::GetAtt' in v))) continue;
      out.push(`${r.Type} ${JSON.stringify(v)}`);
    }
  }
  return out;
}

function gcpNames(json: Record<string, any>): string[] {
  const out: string[] = [];
  for (const [type, byId] of Object.entries<Record<string, any>>(json.resource ?? {})) {
    if (/_iam_(member|binding|policy)$/.test(type)) continue; // bindings, not named resources
    // Objects are unique per bucket, not per project: one in a bucket of this stack (a reference) cannot collide.
    if (type === 'google_storage_bucket_object') {
      for (const r of Object.values(byId)) if (!String(r.bucket).startsWith('${')) out.push(`${type} ${r.bucket}/${r.name}`);
      continue;
    }
    for (const r of Object.values(byId)) for (const a of GCP_NAME_ATTRS) if (typeof r[a] === 'string') out.push(`${type} ${r[a]}`);
  }
  return out;
}

const collisions = (names: Record<string, string[]>) => {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const [env, list] of Object.entries(names)) {
    for (const n of new Set(list)) {
      if (seen.has(n)) out.push(`${n} (${seen.get(n)} and ${env})`);
      else seen.set(n, env);
    }
  }
  return out;
};

describe('environments side by side', () => {
  it('AWS: dev, staging and prod share no physical name (parameters, alarms, dashboards, schedules…)', () => {
    const names = Object.fromEntries(ENVIRONMENTS.map((e) => [e, awsNames(awsTemplates[e])]));
    expect(names.prod.filter((n) => n.startsWith('AWS::SSM::Parameter')).length).toBeGreaterThan(3);
    expect(names.prod.filter((n) => n.startsWith('AWS::CloudWatch::Alarm')).length).toBeGreaterThan(10);
    expect(collisions(names)).toEqual([]);
  });

  it('GCP: dev, staging and prod share no resource name in one project', () => {
    const names = Object.fromEntries(ENVIRONMENTS.map((e) => [e, gcpNames(gcpJson[e])]));
    expect(names.prod.length).toBeGreaterThan(10);
    expect(collisions(names)).toEqual([]);
  });

  it('AWS parameters of an environment live under /migration/<env>', () => {
    for (const env of ENVIRONMENTS) {
      const params = Object.values(awsTemplates[env].Resources).filter((r) => r.Type === 'AWS::SSM::Parameter').map((r) => r.Properties.Name as string);
      expect(params.every((p) => p.startsWith(`/migration/${env}/`))).toBe(true);
    }
  });
});

describe('on-call addresses', () => {
  it('staging and prod refuse to synthesize without them on AWS, naming the setting; dev warns', () => {
    for (const env of ['staging', 'prod']) expect(() => synthAws({ env })).toThrow(new RegExp(`${env} needs on-call addresses.*onCallEmails`));
    expect(awsWarnings.dev.join('\n')).toMatch(/no on-call addresses.*onCallEmails/);
    expect(awsWarnings.prod.join('\n')).not.toMatch(/on-call/);
  });

  it('staging and prod refuse to load without them on GCP, naming the setting; dev warns', () => {
    const { MM_ALERT_EMAILS: _emails, ...noEmails } = CI_ENV;
    for (const env of ['staging', 'prod']) {
      expect(() => loadGcpConfig(env, noEmails)).toThrow(GcpConfigError);
      expect(() => loadGcpConfig(env, noEmails)).toThrow(new RegExp(`${env} needs on-call addresses.*MM_ALERT_EMAILS`));
    }
    const app = Testing.app({ outdir: fs.mkdtempSync(path.join(scratch, 'gcp-')) });
    const stack = new GcpMonitoringStack(app, loadGcpConfig('dev', noEmails), { skipBundling: true });
    Testing.synth(stack);
    const warnings = stack.node.metadata.filter((m) => m.type === 'aws:cdk:warning' || /warn/i.test(m.type)).map((m) => String(m.data));
    expect(warnings.join('\n')).toMatch(/no on-call addresses.*MM_ALERT_EMAILS/);
  });
});

describe('one threshold per environment: health = alarm', () => {
  const awsAlarm = (env: EnvName, id: string) => Object.values(awsTemplates[env].Resources).find((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.AlarmName === `MigrationMonitoring-${env}-${id}`)!.Properties;
  const trackerEnv = (env: EnvName) => Object.values(awsTemplates[env].Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.ERROR_RATE_PERCENT)!.Properties.Environment.Variables;

  it.each(ENVIRONMENTS)('AWS %s: the tracker is told the error rate and stall time its alarms use', (env) => {
    const s = ENVIRONMENT_SETTINGS[env];
    expect(trackerEnv(env)).toMatchObject({ ERROR_RATE_PERCENT: String(s.errorRatePercent), STALL_MINUTES: String(s.stallMinutes) });
    expect(awsAlarm(env, 'error-rate-high').Threshold).toBe(s.errorRatePercent);
    const stalled = awsAlarm(env, 'migration-stalled');
    const period = stalled.Period ?? stalled.Metrics?.find((m: any) => m.MetricStat)?.MetricStat.Period;
    expect(stalled.EvaluationPeriods * period).toBe(s.stallMinutes * 60);
  });

  it.each(ENVIRONMENTS)('GCP %s: the report handler is told the error rate the tracker\'s alarm uses (the tracker and its alarms live on AWS)', (env) => {
    const s = ENVIRONMENT_SETTINGS[env];
    const fns = Object.values<any>(gcpJson[env].resource.google_cloudfunctions2_function);
    const report = fns.find((f) => f.service_config.environment_variables?.ERROR_RATE_PERCENT);
    expect(report.service_config.environment_variables).toMatchObject({ ERROR_RATE_PERCENT: String(s.errorRatePercent), STALL_MINUTES: String(s.stallMinutes) });
    expect(awsAlarm(env, 'error-rate-high').Threshold).toBe(s.errorRatePercent);
    // nothing on GCP emits the tracker's ErrorRate: no policy there that could never fire
    const metrics = Object.values<any>(gcpJson[env].resource.google_logging_metric).map((m) => m.name);
    expect(metrics).not.toContain(`mm_${env}_alarm_error_rate_high`);
  });
});
