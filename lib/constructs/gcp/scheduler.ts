import { Construct } from 'constructs';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job';
import { serviceAccountId, type GcpPlacement } from './common';
import type { CloudRunHandler } from './cloud-run-handler';

export interface ScheduleSpec {
  /** Short id, e.g. `daily-report`. */
  id: string;
  description: string;
  target: CloudRunHandler;
  /** unix-cron, e.g. `0 7 * * *`. */
  cron: string;
  /** JSON body sent as the event (the scheduled handler's input). Default `{}`. */
  body?: Record<string, unknown>;
  /** Path on the target, default `/`. */
  path?: string;
  /** Attempts after the first failure. Default 3. */
  retryCount?: number;
  /** Seconds the target may take before the attempt counts as failed (15-1800). Default 320. */
  attemptDeadlineSeconds?: number;
}

export interface SchedulesProps {
  placement: GcpPlacement;
  /** IANA time zone of every cron, e.g. `Europe/Berlin`. */
  timeZone: string;
  jobs: ScheduleSpec[];
}

/** Daily at hh:mm in the schedule's time zone. */
export const dailyAt = (hour = 7, minute = 0): string => {
  if (!Number.isInteger(hour) || hour < 0 || hour > 23 || !Number.isInteger(minute) || minute < 0 || minute > 59) throw new Error(`invalid time ${hour}:${minute}`);
  return `${minute} ${hour} * * *`;
};

/** Every n minutes (n divides 60, or is a multiple of 60 that divides 24 h). */
export const everyMinutes = (n: number): string => {
  if (!Number.isInteger(n) || n < 1) throw new Error(`every N minutes needs a whole N >= 1 (got ${n})`);
  if (n < 60) {
    if (60 % n !== 0) throw new Error(`every ${n} minutes does not divide an hour: use 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30`);
    return n === 1 ? '* * * * *' : `*/${n} * * * *`;
  }
  const h = n / 60;
  if (!Number.isInteger(h) || 24 % h !== 0) throw new Error(`every ${n} minutes does not divide a day into whole hours`);
  return h === 24 ? '0 0 * * *' : `0 */${h} * * *`;
};

const CRON = /^(\S+\s+){4}\S+$/;

/**
 * Cloud Scheduler jobs calling Cloud Run handlers over HTTPS with an OIDC token. One dedicated scheduler
 * service account signs every job's token, and it alone gets roles/run.invoker, on each target service only.
 */
export class Schedules extends Construct {
  readonly serviceAccount: ServiceAccount;
  readonly jobs: CloudSchedulerJob[] = [];

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const { placement } = props;
    if (!/^[A-Za-z]+(\/[A-Za-z0-9_+-]+)*$/.test(props.timeZone)) throw new Error(`invalid time zone "${props.timeZone}": use an IANA name such as Europe/Berlin or Etc/UTC`);
    this.serviceAccount = new ServiceAccount(this, 'sa', {
      project: placement.project,
      accountId: serviceAccountId(placement.namePrefix, 'scheduler'),
      displayName: `migration-monitor scheduler (${placement.env})`,
      description: 'Signs the OIDC tokens of the Cloud Scheduler jobs; the only invoker of the scheduled handlers',
    });
    const invokerGranted = new Set<CloudRunHandler>();
    const seen = new Set<string>();
    for (const job of props.jobs) {
      if (seen.has(job.id)) throw new Error(`schedule "${job.id}" is declared twice`);
      seen.add(job.id);
      if (!CRON.test(job.cron.trim())) throw new Error(`schedule "${job.id}": "${job.cron}" is not a 5-field unix-cron expression`);
      const deadline = job.attemptDeadlineSeconds ?? 320;
      if (deadline < 15 || deadline > 1800) throw new Error(`schedule "${job.id}": attemptDeadlineSeconds must be 15-1800 (got ${deadline})`);
      const retryCount = job.retryCount ?? 3;
      if (!Number.isInteger(retryCount) || retryCount < 0 || retryCount > 5) throw new Error(`schedule "${job.id}": retryCount must be 0-5 (got ${retryCount})`);
      const invoker = invokerGranted.has(job.target) ? [] : [job.target.grantInvoker('scheduler', this.serviceAccount.email)];
      invokerGranted.add(job.target);
      const path = job.path ?? '/';
      if (!path.startsWith('/')) throw new Error(`schedule "${job.id}": path must start with /`);
      this.jobs.push(
        new CloudSchedulerJob(this, job.id, {
          project: placement.project,
          region: placement.region,
          name: `${placement.namePrefix}-${job.id}`,
          description: job.description,
          schedule: job.cron.trim(),
          timeZone: props.timeZone,
          attemptDeadline: `${deadline}s`,
          retryConfig: { retryCount, minBackoffDuration: '30s', maxBackoffDuration: '600s', maxDoublings: 3, maxRetryDuration: '3600s' },
          httpTarget: {
            httpMethod: 'POST',
            uri: path === '/' ? job.target.uri : `${job.target.uri}${path}`,
            headers: { 'Content-Type': 'application/json' },
            body: Buffer.from(JSON.stringify(job.body ?? {})).toString('base64'),
            oidcToken: { serviceAccountEmail: this.serviceAccount.email, audience: job.target.uri },
          },
          dependsOn: invoker,
        }),
      );
    }
  }
}
