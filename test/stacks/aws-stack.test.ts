import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MigrationMonitoring } from '../../lib/constructs/aws/migration-monitoring';
import { CONFIGS } from '../../stacks/aws/config';
import { MigrationMonitoringStack } from '../../stacks/aws/migration-monitoring-stack';
import { buildApp } from '../../stacks/aws/main';
import { addNagChecks } from '../../stacks/aws/nag';
import { cdkJsonContext, PROXY } from './variants';

/** Every optional part on: pager topic, report email (SES) and Slack, validation with resources, GCP keyless role, log subscription. */
const EVERYTHING = {
  pagerEndpoints: 'pager@acme.pagerduty.com,https://events.pagerduty.com/integration/0123456789abcdef/enqueue',
  reportRecipients: 'team@example.com,cto@example.com',
  reportEmailFrom: 'reports@example.com',
  reportSlackWebhookSecret: 'migration/report-slack',
  validation: JSON.stringify({ configParameter: '/migration/validation-config', everyMinutes: 15, migrationId: 'tenant-a', connectors: ['postgres', 'redis'], resources: { dynamodbTables: ['orders'], s3Buckets: ['acme-data'], lambdaFunctions: ['orders-api'] } }),
  gcpServiceAccountIds: '103984732984732984732',
  logGroups: '/ecs/tenant-migrator,/migration/cutover',
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
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context },
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

const alarmNames = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r: any) => r.Properties.AlarmName as string);
const envOf = (t: Template, fn: lambda.IFunction) => t.toJSON().Resources[Stack.of(fn).getLogicalId(fn.node.defaultChild as never)].Properties.Environment.Variables;

describe('MigrationMonitoringStack', () => {
  it('passes cdk-nag AwsSolutions and Serverless with zero unacknowledged findings in every environment', () => {
    for (const context of [
      { env: 'dev' },
      { env: 'staging', onCallEmails: 'oncall@example.com', ...EVERYTHING },
      { env: 'prod', onCallEmails: 'oncall@example.com', slackWebhookSecret: 'migration/slack-webhook', migrations: 'tenant-a', reportBucketName: 'acme-reports', searchProxy: PROXY, ciRepository: 'acme/migration-monitor', ...EVERYTHING },
      { env: 'prod', onCallEmails: 'oncall@example.com', reports: 'false', validation: { configParameter: '/migration/validation-config' } },
    ]) {
      const { report } = synthApp(context);
      // dev without on-call addresses warns by design (test/stacks/environments.test.ts); nothing else may be reported
      expect(findings(report).filter((f) => !f.includes('migration-monitor:no-on-call'))).toEqual([]);
      expect(process.exitCode ?? 0).toBe(0);
    }
  });

  it('every acknowledgement carries a reason', () => {
    const { app } = synthApp({ env: 'prod', onCallEmails: 'oncall@example.com', slackWebhookSecret: 'migration/slack-webhook' });
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
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/migration/prod/alert-topic-arn' });
    template.hasOutput('ApiUrl', {});
    template.hasOutput('InvokePolicyArn', {});
  });

  it('deploys the search proxy from config: IAM function URL, breaker state in the progress table, watched and on the dashboard', () => {
    const { template, stack } = synthApp({ env: 'staging', onCallEmails: 'oncall@example.com', searchProxy: JSON.stringify(PROXY) });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r: any) => r.Properties.AlarmName as string);
    expect(alarms).toContain('MigrationMonitoring-staging-search-proxy-Fault-Count-warning');
    expect(alarms.filter((n) => n.endsWith('-breaker-open'))).toEqual(['MigrationMonitoring-staging-breaker-open']); // rendered once
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((r: any) => r.Properties.Environment?.Variables?.PRIMARY_URL_PARAMETER) as any;
    expect(fn.Properties.Environment.Variables.BREAKER_STATE_TABLE).toEqual({ Ref: stack.getLogicalId(stack.progressTable.table.node.defaultChild as never) });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/migration/staging/search-proxy/breaker-switch' });
  });

  it('deploys the daily report by default: bucket in SSM, 07:00 in the configured time zone, report-missing alarm, watched', () => {
    const { template, stack } = synthApp({ env: 'dev', timeZone: 'Europe/Berlin' });
    const names = alarmNames(template);
    expect(names).toContain('MigrationMonitoring-dev-report-missing');
    expect(names).toContain('MigrationMonitoring-dev-report-Fault-Count-warning');
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')).map((r: any) => r.Properties);
    const daily = schedules.find((p) => p.ScheduleExpression === 'cron(0 7 * * ? *)');
    expect(daily).toMatchObject({ ScheduleExpressionTimezone: 'Europe/Berlin', Target: { Arn: { 'Fn::GetAtt': [stack.getLogicalId(stack.report!.handler.function.node.defaultChild as never), 'Arn'] } } });
    expect(JSON.parse(daily.Target.Input)).toEqual({ source: 'schedule', kind: 'daily-report' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/migration/dev/report-bucket', Value: { Ref: stack.getLogicalId(stack.report!.bucket.node.defaultChild as never) } });
    template.hasOutput('ReportBucketName', {});
    expect(stack.validation).toBeUndefined();
    expect(stack.gcpKeylessRole).toBeUndefined();
    expect(stack.logSubscription).toBeUndefined();
  });

  it('leaves the report out when config turns it off, and its alarm with it', () => {
    const { template, stack } = synthApp({ env: 'dev', reports: 'false' });
    expect(stack.report).toBeUndefined();
    expect(alarmNames(template)).not.toContain('MigrationMonitoring-dev-report-missing');
    expect(Object.keys(template.findResources('AWS::S3::Bucket'))).toHaveLength(0);
    expect(Object.keys(template.findResources('AWS::Scheduler::Schedule'))).toHaveLength(1); // the sweep only
  });

  it('adds validation, the GCP keyless role and the log subscription when config names them', () => {
    const { template, stack } = synthApp({ env: 'staging', onCallEmails: 'oncall@example.com', ...EVERYTHING });
    // validation: every 15 minutes, config from SSM, results to the tracker (SigV4) and the report bucket
    const rates = Object.values(template.findResources('AWS::Scheduler::Schedule')).map((r: any) => r.Properties.ScheduleExpression);
    expect(rates.sort()).toEqual(['cron(0 7 * * ? *)', 'rate(15 minutes)', 'rate(5 minutes)']);
    const env = envOf(template, stack.validation!.handler.function);
    expect(env).toMatchObject({ VALIDATION_CONFIG_PARAMETER: '/migration/validation-config', MIGRATION_MONITOR_SIGV4: 'true', MIGRATION_MONITOR_MIGRATION: 'tenant-a', MM_REPORT_SINK: 's3', MM_REPORT_PREFIX: 'validation' });
    expect(stack.validation!.connectors).toEqual(['postgres', 'redis']); // the drivers its bundle carries
    expect(alarmNames(template)).toEqual(expect.arrayContaining(['MigrationMonitoring-staging-validation-Fault-Count-warning', 'MigrationMonitoring-staging-log-ingest-Fault-Count-warning']));
    // report email and Slack from the report's own settings
    expect(envOf(template, stack.report!.handler.function)).toMatchObject({ REPORT_OUTPUTS: 's3,email,slack', REPORT_EMAIL_FROM: 'reports@example.com' });
    // GCP keyless role: trusted for the service account, output for the GCP stack
    template.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRoleWithWebIdentity', Effect: 'Allow', Principal: { Federated: 'accounts.google.com' }, Condition: { StringEquals: { 'accounts.google.com:aud': ['103984732984732984732'], 'accounts.google.com:sub': ['103984732984732984732'], 'accounts.google.com:oaud': 'sts.amazonaws.com', 'sts:RoleSessionName': '${accounts.google.com:sub}' } } }], Version: '2012-10-17' } });
    template.hasOutput('GcpKeylessRoleArn', {});
    // log subscription: one filter per named log group, to the log-ingest Lambda
    const filters = Object.values(template.findResources('AWS::Logs::SubscriptionFilter')).map((r: any) => r.Properties.LogGroupName);
    expect(filters.sort()).toEqual(['/ecs/tenant-migrator', '/migration/cutover']);
  });

  it('pages critical alerts through a second topic the tracker (only) may publish to, or through a topic of your own', () => {
    const { template, stack } = synthApp({ env: 'dev', pagerEndpoints: 'pager@acme.pagerduty.com' });
    const pager = stack.alertTopic.pagerTopic!;
    const pagerRef = { Ref: stack.getLogicalId(pager.node.defaultChild as never) };
    expect(envOf(template, stack.trackerApi.handler.function)).toMatchObject({ ALERT_PAGER_TOPIC_ARN: pagerRef });
    expect(template.toJSON().Outputs.PagerTopicArn.Value).toEqual(pagerRef);
    const publishers = Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) => p.Properties.PolicyDocument.Statement.some((st: any) => st.Action === 'sns:Publish' && [st.Resource].flat().some((r: unknown) => JSON.stringify(r) === JSON.stringify(pagerRef))));
    expect(publishers.map((p: any) => p.Properties.Roles)).toEqual([[{ Ref: stack.getLogicalId(stack.trackerApi.handler.role.node.defaultChild as never) }]]);
    // the alarms keep publishing to the on-call topic, never to the pager
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'))).not.toContain(pagerRef.Ref);
    // no pager configured: no second topic, no variable
    const none = synthApp({ env: 'dev' });
    none.template.resourceCountIs('AWS::SNS::Topic', 1);
    expect(envOf(none.template, none.stack.trackerApi.handler.function)['ALERT_PAGER_TOPIC_ARN']).toBeUndefined();
    expect(() => synthApp({ env: 'dev', pagerEndpoints: 'not-a-pager' })).toThrow(/pagerEndpoints\[0\]: must be an e-mail address or an https:\/\/ URL/);

    const app = new App({ analyticsReporting: false, builtinCloudFormationValidation: false, outdir: fs.mkdtempSync(path.join(scratch, 'byo-pager-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const own = new Stack(app, 'Own', { env: { account: '123456789012', region: 'eu-west-1' } });
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:acme-pager';
    const m = new MigrationMonitoring(own, 'Monitoring', { environment: 'dev', pagerEndpoints: ['ignored@example.com'], pagerTopic: sns.Topic.fromTopicArn(own, 'Pager', topicArn) });
    const t = Template.fromStack(own);
    expect(m.alertTopic!.pagerTopic).toBeUndefined(); // yours replaces the created one
    t.resourceCountIs('AWS::SNS::Topic', 1);
    expect(envOf(t, m.trackerApi.handler.function)).toMatchObject({ ALERT_PAGER_TOPIC_ARN: topicArn });
    const statements = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sns:Publish', Resource: topicArn }));
    // with your own alert topic the tracker routes nothing: a pager would silently page nobody, so it is refused
    const own2 = new Stack(app, 'Own2', { env: { account: '123456789012', region: 'eu-west-1' } });
    expect(() => new MigrationMonitoring(own2, 'Monitoring', { environment: 'dev', alertTopic: sns.Topic.fromTopicArn(own2, 'Alerts', 'arn:aws:sns:eu-west-1:123456789012:acme-alerts'), pagerEndpoints: ['pager@acme.pagerduty.com'] })).toThrow(/a pager \(pagerTopic or pagerEndpoints\) needs the alert topic this construct creates/);
  });

  it('refuses a bad optional part at synth, naming it', () => {
    expect(() => synthApp({ env: 'dev', gcpServiceAccountIds: 'ci@project.iam.gserviceaccount.com' })).toThrow(/gcpKeyless.serviceAccountIds\[0\]: must be a GCP service account unique id/);
    expect(() => synthApp({ env: 'dev', logSubscription: '{"logGroups": ["/ecs/a"], "config": {"patterns": [{"name": "x", "regex": "(", "actions": [{"do": "start_phase"}]}]}}' })).toThrow(/patterns\[0\]\.regex/);
    expect(() => synthApp({ env: 'dev', validationConfigParameter: 'no-slash' })).toThrow(/validation.configParameter: must be an SSM parameter name/);
    const bad = path.join(scratch, 'bad-checks.yaml');
    fs.writeFileSync(bad, ['connectors:', '  src: { type: dynamodb, table: orders, key: id }', 'checks:', '  - { kind: count, source: src, target: dst }'].join('\n'));
    expect(() => synthApp({ env: 'dev', validationConfigFile: bad })).toThrow(/ValidationFunction: invalid validation config: .*bad-checks\.yaml: checks\[0\]\.target: unknown connector "dst" \(defined: src\)/);
  });

  it('ships a validation config file as JSON in the function, with the drivers of the types it uses and no parameter to read', () => {
    const file = path.join(scratch, 'checks.yaml');
    fs.writeFileSync(file, ['connectors:', '  src: { type: dynamodb, table: orders, key: id }', '  dst: { type: http-json, url: "${TARGET_API}/items", key: id, headers: { Authorization: "Bearer ${TARGET_TOKEN}" } }', 'checks:', '  - { kind: count, source: src, target: dst }'].join('\n'));
    const secrets = { TARGET_API: 'migration/target-api-url', TARGET_TOKEN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/target-token-AbCdEf' };
    expect(() => synthApp({ env: 'dev', validationConfigFile: file })).toThrow(/dst\.url: \$\{TARGET_API\} has no value in the function/);
    const { stack, template } = synthApp({ env: 'dev', validation: JSON.stringify({ configFile: file, migrationId: 'tenant-a', configSecrets: secrets }) });
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function')).filter((r: any) => r.Properties.Environment?.Variables?.VALIDATION_CONFIG_PATH);
    expect((fn as any).Properties.Environment.Variables).toMatchObject({ VALIDATION_CONFIG_PATH: 'validation-config.json', MIGRATION_MONITOR_MIGRATION: 'tenant-a' });
    expect((fn as any).Properties.Environment.Variables.VALIDATION_CONFIG_PARAMETER).toBeUndefined();
    expect((fn as any).Properties.Environment.Variables.TARGET_TOKEN_SECRET_ARN).toBe(secrets.TARGET_TOKEN);
    expect(JSON.stringify((fn as any).Properties.Environment.Variables.TARGET_API_SECRET_ARN)).toContain('migration/target-api-url');
    expect(stack.monitoring.validation?.connectors).toEqual(['dynamodb', 'http-json']);
  });

  it('takes the parts of other issues as factories instead, and leaves their alarms out when there are none', () => {
    const app = new App({ analyticsReporting: false, builtinCloudFormationValidation: false, outdir: fs.mkdtempSync(path.join(scratch, 'ext-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new MigrationMonitoringStack(app, 'WithParts', {
      config: CONFIGS.dev,
      report: (s) => ({ fn: new lambda.Function(s, 'Report', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x') }) }),
      validation: (s) => ({ fn: new lambda.Function(s, 'Validate', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x') }) }),
    });
    expect(stack.report).toBeUndefined(); // the factory replaces the built-in report
    const t = Template.fromStack(stack);
    const withParts = alarmNames(t);
    expect(withParts).toContain('MigrationMonitoring-dev-report-missing');
    expect(withParts).toContain('MigrationMonitoring-dev-report-Fault-Count-warning');
    const crons = Object.values(t.findResources('AWS::Scheduler::Schedule')).map((r: any) => r.Properties.ScheduleExpression);
    expect(crons.sort()).toEqual(['cron(0 7 * * ? *)', 'rate(1 hour)', 'rate(5 minutes)']); // validation: every 60 min by default

    const app2 = new App({ analyticsReporting: false, builtinCloudFormationValidation: false, outdir: fs.mkdtempSync(path.join(scratch, 'bare-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const bare = new MigrationMonitoringStack(app2, 'Bare', { config: { ...CONFIGS.dev, reports: { ...CONFIGS.dev.reports, enabled: false } } });
    expect(alarmNames(Template.fromStack(bare))).not.toContain('MigrationMonitoring-dev-report-missing');
  });

  it('matches the snapshot (asset hashes masked)', () => {
    const { template } = synthApp({ env: 'staging', onCallEmails: 'oncall@example.com', pagerEndpoints: 'pager@acme.pagerduty.com', slackWebhookSecret: 'migration/slack-webhook', migrations: 'tenant-a', reportRecipients: 'team@example.com', reportEmailFrom: 'reports@example.com' });
    expect(masked(template)).toMatchSnapshot();
  });
});
