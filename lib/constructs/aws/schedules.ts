import { Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { nagRef } from './nag-refs';

/** A daily (or hourly-pattern) run at local time: cron fields as EventBridge Scheduler takes them. */
export interface DailyRun {
  fn: lambda.IFunction;
  hour: string;
  minute: string;
  /** Event the handler receives. */
  input: Record<string, unknown>;
}

/** A run every `everyMinutes` minutes (EventBridge Scheduler `rate(…)`). */
export interface RateRun {
  fn: lambda.IFunction;
  everyMinutes: number;
  /** Event the handler receives. */
  input: Record<string, unknown>;
}

export interface SchedulesProps {
  /** IANA time zone of the cron schedules (daylight saving handled by the scheduler). */
  timeZone: string;
  /** Daily report (default 07:00 local); omitted until the report handler is deployed. */
  report?: DailyRun;
  /** Validation runs, at local times or every N minutes; omitted until the validation handler is deployed. */
  validation?: DailyRun | RateRun;
  /** The tracker's staleness sweep, every `minutes` minutes. */
  sweep?: { fn: lambda.IFunction; minutes: number };
  /** Invocations the scheduler could not deliver after its retries. */
  deadLetterQueue: sqs.IQueue;
}

/**
 * EventBridge Scheduler schedules with a time zone: the daily report, validation runs and the tracker's
 * staleness sweep. Each target retries twice within an hour, then goes to the dead-letter queue.
 */
export class Schedules extends Construct {
  readonly schedules: Record<string, scheduler.Schedule> = {};
  /** The role EventBridge Scheduler assumes to invoke the targets (only from this account's schedules). */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const tz = TimeZone.of(props.timeZone);
    this.role = new iam.Role(this, 'Role', {
      description: 'EventBridge Scheduler: invoke the monitoring handlers',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
    });
    const acknowledged = new Set<string>();
    const target = (fn: lambda.IFunction, input: Record<string, unknown>) => {
      const ref = nagRef(fn, 'Arn');
      if (ref && !acknowledged.has(ref)) {
        acknowledged.add(ref);
        Validations.of(this.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${ref}:*]`,
          reason: 'lambda:InvokeFunction on the function and its versions/aliases (ARN:*), one named function only.',
        });
      }
      return new targets.LambdaInvoke(fn, {
        role: this.role,
        input: scheduler.ScheduleTargetInput.fromObject(input),
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      });
    };
    const add = (name: string, r: DailyRun | RateRun, what: string) => {
      const rate = 'everyMinutes' in r;
      this.schedules[name] = new scheduler.Schedule(this, name, {
        description: rate ? `${what} every ${r.everyMinutes} min` : `${what} at ${at(r)} ${props.timeZone}`,
        schedule: rate ? scheduler.ScheduleExpression.rate(Duration.minutes(r.everyMinutes)) : scheduler.ScheduleExpression.cron({ hour: r.hour, minute: r.minute, timeZone: tz }),
        target: target(r.fn, r.input),
      });
    };
    if (props.report) add('DailyReport', props.report, 'Migration status report');
    if (props.validation) add('Validation', props.validation, 'Migration validation');
    if (props.sweep) {
      this.schedules['StalenessSweep'] = new scheduler.Schedule(this, 'StalenessSweep', {
        description: `Tracker staleness sweep every ${props.sweep.minutes} min (keeps the stalled alarm honest)`,
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(props.sweep.minutes)),
        target: target(props.sweep.fn, { action: 'sweep' }),
      });
    }
  }
}

const at = (r: DailyRun) => `${r.hour.padStart(2, '0')}:${r.minute.padStart(2, '0')}`;
