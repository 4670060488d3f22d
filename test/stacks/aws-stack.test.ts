import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CONFIGS } from '../../stacks/aws/config';
import { MigrationMonitoringStack } from '../../stacks/aws/migration-monitoring-stack';
import { buildApp } from '../../stacks/aws/main';
import { addNagChecks } from '../../stacks/aws/nag';

const PROXY = {
  primary: { config: { kind: 'milvus', collection: 'docs', vectorField: 'embedding' }, urlParameter: '/migration/search/primary-url' },
  fallback: { config: { kind: 'opensearch', index: 'docs', vectorField: 'embedding' }, urlParameter: '/migration/search/fallback-url' },
  credentialsSecret: 'migration/search-credentials',
};
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-stack-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** The whole app as `cdk synth -c env=… ` builds it, bundling skipped (unit tests stay fast). */
function synthApp(context: Record<string, unknown>, opts: { builtinValidation?: boolean } = {}) {
  const outdir = fs.mkdtempSync(path.join(scratch, 'out-'));
  const app = new App({
    outdir,
    analyticsReporting: false,
    builtinCloudFormationValidation: opts.builtinValidation ?? false,
    context: { 'aws:cdk:bundling-stacks': [], ...context },
  });
  const { stack } = buildApp(app);
  const assembly = app.synth();
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  return { app, stack, assembly, report, template: Template.fromJSON(assembly.getStackByName(stack.stackName).template) };
}

/** Findings per plugin: rule → construct paths. */
const findings = (report: any) =>
  (report.pluginReports as any[]).flatMap((p) =>
    (p.violations ?? p.summary?.violations ?? []).map((v: any) => `${p.pluginName ?? p.summary?.pluginName}: ${v.ruleName} @ ${(v.violatingResources ?? v.violatingConstructs ?? []).map((r: any) => r.constructPath ?? r.resourceLogicalId).join(', ')}`),
  );

/** Snapshot form: asset hashes masked so the snapshot changes only when the template does. */
function masked(t: Template): unknown {
  return JSON.parse(
    JSON.stringify(t.toJSON())
      .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, (_m, ext) => `[ASSET-HASH]${ext ?? ''}`)
      .replace(/"S3Bucket":\{"Fn::Sub":"cdk-[^"]+"\}/g, '"S3Bucket":"[ASSET-BUCKET]"'),
  );
}

describe('MigrationMonitoringStack', () => {
  it('passes cdk-nag AwsSolutions and Serverless with zero unacknowledged findings in every environment', () => {
    for (const context of [
      { env: 'dev' },
      { env: 'prod', onCallEmails: 'oncall@example.com', slackWebhookSecret: 'migration/slack-webhook', migrations: 'tenant-a', reportBucketName: 'acme-reports', searchProxy: PROXY },
    ]) {
      const { report } = synthApp(context);
      expect(findings(report)).toEqual([]);
      expect(process.exitCode ?? 0).toBe(0);
    }
  });

  it('every acknowledgement carries a reason', () => {
    const { app } = synthApp({ env: 'prod', slackWebhookSecret: 'migration/slack-webhook' });
    const acks: Array<{ id: string; reason: string }> = [];
    for (const c of app.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && m.data) {
          for (const [id, reason] of Object.entries(m.data as Record<string, unknown>)) acks.push({ id, reason: String((reason as any)?.reason ?? reason) });
        }
      }
    }
    expect(acks.length).toBeGreaterThan(3);
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(20);
  });

  it('the nag check can fail: an unencrypted, non-TLS queue is reported', () => {
    const outdir = fs.mkdtempSync(path.join(scratch, 'bad-'));
    const app = new App({ outdir, analyticsReporting: false, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Bad');
    new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    addNagChecks(app);
    const before = process.exitCode;
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4|SQS4/);
    process.exitCode = before;
  });

  it('synthesizes prod with retained data, deletion protection and the CloudFormation schema check passing', () => {
    const { template, report } = synthApp({ env: 'prod', onCallEmails: 'oncall@example.com' }, { builtinValidation: true });
    expect(findings(report).filter((f) => !/warning/i.test(f))).toEqual([]);
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/migration/alert-topic-arn' });
    template.hasOutput('ApiUrl', {});
    template.hasOutput('InvokePolicyArn', {});
  });

  it('deploys the search proxy from config: IAM function URL, breaker state in the progress table, watched and on the dashboard', () => {
    const { template, stack } = synthApp({ env: 'staging', searchProxy: JSON.stringify(PROXY) });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r: any) => r.Properties.AlarmName as string);
    expect(alarms).toContain('MigrationMonitoring-staging-search-proxy-Fault-Count-warning');
    expect(alarms.filter((n) => n.endsWith('-breaker-open'))).toEqual(['MigrationMonitoring-staging-breaker-open']); // rendered once
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((r: any) => r.Properties.Environment?.Variables?.PRIMARY_URL_PARAMETER) as any;
    expect(fn.Properties.Environment.Variables.BREAKER_STATE_TABLE).toEqual({ Ref: stack.getLogicalId(stack.progressTable.table.node.defaultChild as never) });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/migration/search-proxy/breaker-switch' });
  });

  it('wires the parts of other issues when given, and leaves their alarms out when not', () => {
    const { template } = synthApp({ env: 'dev' });
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r: any) => r.Properties.AlarmName as string);
    expect(names).not.toContain('MigrationMonitoring-dev-report-missing');
    expect(names).toContain('MigrationMonitoring-dev-phase-failed');
    expect(Object.keys(template.findResources('AWS::Scheduler::Schedule'))).toHaveLength(1); // the sweep only

    const app = new App({ analyticsReporting: false, builtinCloudFormationValidation: false, outdir: fs.mkdtempSync(path.join(scratch, 'ext-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new MigrationMonitoringStack(app, 'WithParts', {
      config: CONFIGS.dev,
      report: (s) => ({ fn: new lambda.Function(s, 'Report', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x') }) }),
      validation: (s) => ({ fn: new lambda.Function(s, 'Validate', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x') }) }),
    });
    const t = Template.fromStack(stack);
    const withParts = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r: any) => r.Properties.AlarmName as string);
    expect(withParts).toContain('MigrationMonitoring-dev-report-missing');
    expect(withParts).toContain('MigrationMonitoring-dev-report-Fault-Count-warning');
    const crons = Object.values(t.findResources('AWS::Scheduler::Schedule')).map((r: any) => r.Properties.ScheduleExpression);
    expect(crons.sort()).toEqual(['cron(0 7 * * ? *)', 'cron(15 */6 * * ? *)', 'rate(5 minutes)']);
  });

  it('matches the snapshot (asset hashes masked)', () => {
    const { template } = synthApp({ env: 'staging', onCallEmails: 'oncall@example.com', slackWebhookSecret: 'migration/slack-webhook', migrations: 'tenant-a' });
    expect(masked(template)).toMatchSnapshot();
  });
});
