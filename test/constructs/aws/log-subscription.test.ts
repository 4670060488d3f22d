import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LogSubscription } from '../../../lib/constructs/aws/log-subscription';
import { ProgressTable } from '../../../lib/constructs/aws/progress-table';
import { handlerDefaults, resources, template, testStack } from './helpers';

function build(over: Partial<ConstructorParameters<typeof LogSubscription>[2]> = {}) {
  const stack = testStack();
  const table = new ProgressTable(stack, 'T', { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY });
  const jobs = new logs.LogGroup(stack, 'Jobs', { logGroupName: '/migration/tenant-migrator' });
  const other = logs.LogGroup.fromLogGroupName(stack, 'Other', '/ecs/cutover-runner');
  const sub = new LogSubscription(stack, 'Logs', { handlerDefaults: handlerDefaults(), table, logGroups: [jobs, other], ...over });
  return { stack, sub };
}

describe('LogSubscription', () => {
  it('subscribes the log-ingest Lambda to every given log group with the well-known events as the filter', () => {
    const t = template(build().stack);
    const filters = resources(t, 'AWS::Logs::SubscriptionFilter');
    expect(filters).toHaveLength(2);
    const groups = filters.map(([, f]) => f.Properties.LogGroupName);
    expect(groups).toContainEqual({ Ref: expect.stringMatching(/^Jobs/) });
    expect(groups).toContainEqual('/ecs/cutover-runner');
    for (const [, f] of filters) {
      expect(f.Properties.DestinationArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^LogsHandlerFunction/), 'Arn'] });
      expect(f.Properties.FilterPattern).toBe('?"Migration started" ?"Bulk copy progress" ?"Bulk copy complete" ?"Target write failed" ?"Cutover initiated" ?"Cutover timeout" ?"Consistency check failed" ?"Migration completed" ?"Migration failed"');
    }
    // CloudWatch Logs may invoke the function, only for these log groups.
    const perms = resources(t, 'AWS::Lambda::Permission');
    expect(perms.map(([, p]) => p.Properties.Principal)).toEqual(['logs.amazonaws.com', 'logs.amazonaws.com']);
    expect(perms.every(([, p]) => p.Properties.SourceArn !== undefined)).toBe(true);
  });

  it('runs the handler with the table, one at a time, retried asynchronously, with read/write on the table only', () => {
    const t = template(build().stack);
    const [[, fn]] = resources(t, 'AWS::Lambda::Function') as [[string, any]];
    expect(fn.Properties.Environment.Variables).toMatchObject({ TABLE_NAME: { Ref: expect.stringMatching(/^T/) }, ACTIVITY_TTL_DAYS: '90' });
    expect(fn.Properties.Environment.Variables.LOG_WATCH_CONFIG).toBeUndefined();
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Properties.Handler).toBe('index.handler');
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 21600 });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['dynamodb:PutItem']), Resource: Match.anyValue() })]) },
    });
  });

  it('passes a validated config and sends every event once there are custom patterns', () => {
    const config = { phaseMap: { 'bulk-copy': 'database' }, patterns: [{ name: 'infra', regex: 'infra ready', actions: [{ do: 'complete_phase' as const, phase: 'infrastructure' }] }] };
    const t = template(build({ config }).stack);
    const [[, fn]] = resources(t, 'AWS::Lambda::Function') as [[string, any]];
    expect(JSON.parse(fn.Properties.Environment.Variables.LOG_WATCH_CONFIG)).toMatchObject({ phaseMap: { 'bulk-copy': 'database' }, patterns: [{ name: 'infra' }] });
    for (const [, f] of resources(t, 'AWS::Logs::SubscriptionFilter')) expect(f.Properties.FilterPattern).toBe('');
  });

  it('fails the synth on a bad config or no log groups, naming the problem', () => {
    expect(() => build({ config: { patterns: [{ name: 'x', regex: '(', actions: [{ do: 'start_phase' }] }] } })).toThrow(/patterns\[0\]\.regex: is not a valid regular expression/);
    expect(() => build({ logGroups: [] })).toThrow(/at least one log group/);
    const huge = { patterns: Array.from({ length: 60 }, (_, i) => ({ name: `p${i}`, regex: `event number ${i} happened`, actions: [{ do: 'start_phase' as const }] })) };
    expect(() => build({ config: huge })).toThrow(/Lambda environment variables allow about/);
  });
});

describe('LogSubscription under cdk-nag', () => {
  it('passes the AwsSolutions and Serverless packs', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const os = require('node:os') as typeof import('node:os');
    const path = require('node:path') as typeof import('node:path');
    const { App, Stack, Validations } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
    const sqs = require('aws-cdk-lib/aws-sqs') as typeof import('aws-cdk-lib/aws-sqs');
    const { AwsSolutionsChecks, ServerlessChecks } = require('cdk-nag') as typeof import('cdk-nag');
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-log-sub-nag-'));
    try {
      const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
      const stack = new Stack(app, 'Test');
      const dlq = new sqs.Queue(stack, 'Dlq', { enforceSSL: true, encryption: sqs.QueueEncryption.SQS_MANAGED });
      Validations.of(dlq).acknowledge(
        { id: 'AwsSolutions-SQS3', reason: 'Test fixture: this queue is the dead-letter queue.' },
        { id: 'Serverless-SQSRedrivePolicy', reason: 'Test fixture: this queue is the dead-letter queue.' },
      );
      const table = new ProgressTable(stack, 'T', { deletionProtection: false, removalPolicy: RemovalPolicy.DESTROY });
      const jobs = new logs.LogGroup(stack, 'Jobs', { retention: logs.RetentionDays.ONE_WEEK });
      new LogSubscription(stack, 'Logs', { handlerDefaults: handlerDefaults({ deadLetterQueue: dlq }), table, logGroups: [jobs] });
      expect(() => app.synth()).not.toThrow();
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
