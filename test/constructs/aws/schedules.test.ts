import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Schedules } from '../../../lib/constructs/aws/schedules';
import { resources, template, testStack } from './helpers';

describe('Schedules', () => {
  it('runs the daily report at 07:00 in the configured time zone, validation and the sweep, each with retries and a DLQ', () => {
    const stack = testStack();
    const mk = (id: string) => new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x') });
    const dlq = new sqs.Queue(stack, 'Dlq');
    new Schedules(stack, 'S', {
      timeZone: 'Europe/Berlin',
      report: { fn: mk('Report'), hour: '7', minute: '0', input: { kind: 'daily-report' } },
      validation: { fn: mk('Validate'), hour: '*/6', minute: '15', input: { kind: 'validation' } },
      sweep: { fn: mk('Tracker'), minutes: 5 },
      deadLetterQueue: dlq,
    });
    const t = template(stack);
    const schedules = resources(t, 'AWS::Scheduler::Schedule').map(([, r]) => r.Properties);
    const byExpr = Object.fromEntries(schedules.map((s) => [s.ScheduleExpression, s]));
    expect(Object.keys(byExpr).sort()).toEqual(['cron(0 7 * * ? *)', 'cron(15 */6 * * ? *)', 'rate(5 minutes)']);
    expect(byExpr['cron(0 7 * * ? *)'].ScheduleExpressionTimezone).toBe('Europe/Berlin');
    expect(JSON.parse(byExpr['cron(0 7 * * ? *)'].Target.Input)).toEqual({ kind: 'daily-report' });
    expect(JSON.parse(byExpr['rate(5 minutes)'].Target.Input)).toEqual({ action: 'sweep' });
    const dlqArn = { 'Fn::GetAtt': [stack.getLogicalId(dlq.node.defaultChild as never), 'Arn'] };
    for (const s of schedules) {
      expect(s.Target.DeadLetterConfig).toEqual({ Arn: dlqArn });
      expect(s.Target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 2 });
    }
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }], Version: '2012-10-17' },
    });
  });

  it('runs validation every N minutes when given a rate instead of local times', () => {
    const stack = testStack();
    const fn = new lambda.Function(stack, 'Validate', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x') });
    new Schedules(stack, 'S', { timeZone: 'Etc/UTC', validation: { fn, everyMinutes: 15, input: { kind: 'validation' } }, deadLetterQueue: new sqs.Queue(stack, 'Dlq') });
    const [[, s]] = resources(template(stack), 'AWS::Scheduler::Schedule') as [[string, any]];
    expect(s.Properties.ScheduleExpression).toBe('rate(15 minutes)');
    expect(s.Properties.Description).toBe('Migration validation every 15 min');
    expect(JSON.parse(s.Properties.Target.Input)).toEqual({ kind: 'validation' });
  });

  it('schedules only what exists: without report and validation handlers there is just the sweep', () => {
    const stack = testStack();
    const fn = new lambda.Function(stack, 'Tracker', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x') });
    new Schedules(stack, 'S', { timeZone: 'Etc/UTC', sweep: { fn, minutes: 10 }, deadLetterQueue: new sqs.Queue(stack, 'Dlq') });
    const schedules = resources(template(stack), 'AWS::Scheduler::Schedule').map(([, r]) => r.Properties.ScheduleExpression);
    expect(schedules).toEqual(['rate(10 minutes)']);
  });
});
