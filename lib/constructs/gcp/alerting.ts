import { Construct } from 'constructs';
import { describeCondition, evaluationWindow, isUpward } from '../../core/metrics/alarm-meaning';
import { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel';
import {
  MonitoringAlertPolicy,
  type MonitoringAlertPolicyConditions,
  type MonitoringAlertPolicyConditionsConditionThreshold,
} from '@cdktf/provider-google/lib/monitoring-alert-policy';
import type { AlarmSpec, Comparison, MonitoringSpec, Severity, Statistic, MetricName } from '../../core/metrics/spec';
import type { GcpPlacement } from './common';
import type { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric';
import { LogMetrics } from './log-metrics';
import { ALERT_LINE_FIELD, SIGNAL_SEVERITIES, SIGNALS } from '../../core/alerts/signals';
import { ALARM_TIER } from '../../core/alerts/severity';
import type { AlertSeverity } from '../../core/model';

/** Cloud Monitoring severity of the log-match policy of each handler alert severity. */
const ALERT_POLICY_SEVERITY: Record<AlertSeverity, string> = { critical: 'CRITICAL', error: 'ERROR', warning: 'WARNING', info: 'WARNING' };
/** Handler alert policies: at most one notification per incident label set per period; incidents close after this quiet time. */
export const ALERT_LINE_POLICY = { rateLimit: '300s', autoClose: '1800s' } as const;

/** The Logging filter of one severity's handler alert lines (fields of lib/adapters/gcp/log-line-metrics.ts `alertLine`). */
export function alertLineFilter(services: string[], severity: AlertSeverity): string {
  return `resource.type="cloud_run_revision" AND resource.labels.service_name=(${services.map((s) => JSON.stringify(s)).join(' OR ')}) AND jsonPayload.${ALERT_LINE_FIELD}.severity=${JSON.stringify(severity)}`;
}

/** Cloud Monitoring refuses alignment periods above 25 h; longer spec periods carry the rest in `duration`. */
export const MAX_ALIGNMENT_SECONDS = 90_000;

const COMPARISON: Record<Comparison, string> = { gt: 'COMPARISON_GT', gte: 'COMPARISON_GE', lt: 'COMPARISON_LT', lte: 'COMPARISON_LE' };
const PERCENTILE: Partial<Record<Statistic, string>> = { p50: 'ALIGN_PERCENTILE_50', p95: 'ALIGN_PERCENTILE_95', p99: 'ALIGN_PERCENTILE_99' };
export const GCP_SEVERITY: Record<Severity, string> = { critical: 'CRITICAL', warning: 'WARNING' };

/** An e-mail notification channel group, named by what it is for. */
export interface ChannelGroup {
  /** e.g. `on-call`, `migration-leads`. */
  purpose: string;
  emails: string[];
  /** Severities routed to it. */
  severities: Severity[];
}

export interface AlertingProps {
  placement: GcpPlacement;
  spec: MonitoringSpec;
  /** Cloud Run service names whose logs carry the metrics (the handlers). */
  services: string[];
  /** Cloud Scheduler job names (short ids) watched for failed attempts. */
  schedulerJobs: string[];
  channels: ChannelGroup[];
  /** Base URL of the runbook page; each policy links `<url>#<alarm id>`. */
  runbookUrl?: string;
}

type Cond = { metric: MetricName; statistic: Statistic; comparison: Comparison; threshold: number };

/**
 * Window arithmetic shared by every condition: CloudWatch's "N periods of P seconds" becomes one alignment
 * window. An absence-style rule (a Sum below its threshold, silence counted as breaching) is exact over the
 * whole N×P window; a breach rule needs `datapointsToAlarm` consecutive breaching periods, i.e. the condition
 * held for (datapointsToAlarm - 1) × P after the first one. Windows over 25 h keep the rest in `duration`.
 */
export function windowOf(alarm: Pick<AlarmSpec, 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm' | 'missingData' | 'comparison' | 'statistic'>) {
  const w = evaluationWindow(alarm);
  let window = w.rangeSeconds;
  let duration = w.holdSeconds;
  if (window > MAX_ALIGNMENT_SECONDS) {
    duration += window - MAX_ALIGNMENT_SECONDS;
    window = MAX_ALIGNMENT_SECONDS;
  }
  const missingActive = alarm.missingData === 'breaching';
  // The API refuses a zero duration together with evaluationMissingData.
  if (missingActive && duration < 60) duration = 60;
  return { alignmentPeriod: `${window}s`, duration: `${duration}s`, evaluationMissingData: missingActive ? 'EVALUATION_MISSING_DATA_ACTIVE' : undefined };
}

/** One spec condition as a Cloud Monitoring threshold condition over log-based metrics. */
export function renderCondition(
  metrics: LogMetrics,
  key: string,
  c: Cond,
  win: ReturnType<typeof windowOf>,
  deps: LoggingMetric[] = [],
): MonitoringAlertPolicyConditionsConditionThreshold {
  const base = { duration: win.duration, evaluationMissingData: win.evaluationMissingData };
  // Literal metric names plus an explicit depends_on (the policy is refused before its metric exists):
  // a reference inside a quoted filter would make cdktf's HCL output invalid.
  const filterOf = (m: LoggingMetric) => (deps.push(m), metrics.filterOf(m, true));
  const sumOf = (m: LoggingMetric, comparison: string, threshold: number) => ({
    ...base,
    filter: filterOf(m),
    comparison,
    thresholdValue: threshold,
    aggregations: [{ alignmentPeriod: win.alignmentPeriod, perSeriesAligner: 'ALIGN_DELTA', crossSeriesReducer: 'REDUCE_SUM' }],
  });
  switch (c.statistic) {
    case 'Sum':
      // Counters print one line per event, so the count of lines with a value > 0 is the sum.
      return sumOf(metrics.metric(c.metric), COMPARISON[c.comparison], c.threshold);
    case 'Maximum':
    case 'Minimum': {
      const upward = isUpward(c.comparison);
      if (upward !== (c.statistic === 'Maximum')) throw new Error(`${key}: ${c.statistic} ${c.comparison} cannot be rendered on GCP (only Maximum above / Minimum below a threshold)`);
      // "the maximum crossed t in the window" = "at least one datapoint crossed t".
      return sumOf(metrics.crossing(key, c.metric, c.comparison, c.threshold), 'COMPARISON_GT', 0);
    }
    case 'p50':
    case 'p95':
    case 'p99':
      return {
        ...base,
        filter: filterOf(metrics.metric(c.metric)),
        comparison: COMPARISON[c.comparison],
        thresholdValue: c.threshold,
        // The only aligners that are legal on a DELTA distribution and give a number.
        aggregations: [{ alignmentPeriod: win.alignmentPeriod, perSeriesAligner: PERCENTILE[c.statistic], crossSeriesReducer: 'REDUCE_MAX' }],
      };
    default:
      throw new Error(`${key}: statistic ${c.statistic} cannot be rendered on GCP log-based metrics (use Sum, Maximum, Minimum or a percentile)`);
  }
}

function documentation(alarm: Pick<AlarmSpec, 'id' | 'title' | 'runbook' | 'severity'>, placement: GcpPlacement, detail: string, runbookUrl?: string) {
  const links = [
    ...(runbookUrl ? [{ displayName: 'Runbook', url: `${runbookUrl}#${alarm.id}` }] : []),
    { displayName: 'Handler logs', url: `https://console.cloud.google.com/run?project=${placement.project}` },
  ];
  return {
    subject: `[${alarm.severity.toUpperCase()}] ${alarm.title} (${placement.env})`,
    mimeType: 'text/markdown',
    content: [`## ${alarm.title}`, '', `**Severity:** ${alarm.severity} · **Environment:** ${placement.env} · **Alarm:** \`${alarm.id}\``, '', `**What to do:** ${alarm.runbook}`, '', `_Condition:_ ${detail}`].join('\n'),
    links,
  };
}

const describe = (c: Cond, periodSeconds: number) => describeCondition(c, periodSeconds);

/**
 * E-mail notification channels (named by purpose) and one alert policy per spec alarm, plus the GCP platform
 * signals the spec cannot see: Cloud Run 5xx responses (with the handler-errors alarm) and failed Cloud
 * Scheduler attempts.
 */
export class Alerting extends Construct {
  readonly metrics: LogMetrics;
  readonly policies = new Map<string, MonitoringAlertPolicy>();
  readonly channels: MonitoringNotificationChannel[] = [];

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const { placement } = props;
    this.metrics = new LogMetrics(this, 'metrics', { placement, services: props.services });
    const bySeverity: Record<Severity, string[]> = { critical: [], warning: [] };
    const purposes = new Set<string>();
    for (const group of props.channels) {
      if (!/^[a-z][a-z0-9-]{0,40}$/.test(group.purpose)) throw new Error(`channel purpose "${group.purpose}": lowercase letters, digits and hyphens`);
      if (purposes.has(group.purpose)) throw new Error(`channel purpose "${group.purpose}" is declared twice`);
      purposes.add(group.purpose);
      group.emails.forEach((email, i) => {
        if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new Error(`channel "${group.purpose}": "${email}" is not an e-mail address`);
        const ch = new MonitoringNotificationChannel(this, `${group.purpose}-${i}`, {
          project: placement.project,
          type: 'email',
          displayName: `${placement.namePrefix} ${group.purpose} (${group.severities.join('+')}): ${email}`,
          description: `migration-monitor ${placement.env}: ${group.purpose} alerts`,
          labels: { email_address: email },
          userLabels: { ...placement.labels, purpose: group.purpose },
        });
        this.channels.push(ch);
        for (const s of group.severities) bySeverity[s].push(ch.name);
      });
    }

    for (const alarm of props.spec.alarms) {
      const win = windowOf(alarm);
      const deps: LoggingMetric[] = [];
      const conditions: MonitoringAlertPolicyConditions[] = [
        { displayName: describe(alarm, alarm.periodSeconds), conditionThreshold: renderCondition(this.metrics, alarm.id, alarm, win, deps) },
      ];
      let combiner = 'OR';
      if (alarm.onlyWhile) {
        // "only while a phase runs": both conditions must hold; the guard is a plain breach rule over the same window.
        const guardWin = { ...win, evaluationMissingData: undefined, duration: win.duration };
        conditions.push({ displayName: `only while ${describe(alarm.onlyWhile, alarm.periodSeconds)}`, conditionThreshold: renderCondition(this.metrics, `${alarm.id}-while`, alarm.onlyWhile, guardWin, deps) });
        combiner = 'AND';
      }
      if (alarm.metric === 'HandlerErrors') {
        if (combiner !== 'OR') throw new Error(`${alarm.id}: the Cloud Run 5xx condition needs an OR policy`);
        conditions.push({
          displayName: `Cloud Run 5xx responses of the handlers >= ${alarm.threshold} over ${alarm.periodSeconds}s`,
          conditionThreshold: {
            filter: `metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND metric.labels.response_code_class="5xx" AND resource.labels.service_name=(${props.services.map((s) => JSON.stringify(s)).join(' OR ')})`,
            comparison: COMPARISON[alarm.comparison],
            thresholdValue: alarm.threshold,
            duration: win.duration,
            aggregations: [{ alignmentPeriod: win.alignmentPeriod, perSeriesAligner: 'ALIGN_DELTA', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['resource.labels.service_name'] }],
          },
        });
      }
      this.policy(alarm, placement, conditions, combiner, bySeverity[alarm.severity], describe(alarm, alarm.periodSeconds), deps, props.runbookUrl);
    }

    // Alerts the handlers raise themselves (a failed validation, a breaker opening, an undelivered report): one
    // log-match policy per severity on the structured alert line, labelled with what happened.
    for (const severity of SIGNAL_SEVERITIES) this.alertLinePolicy(severity, props, bySeverity[ALARM_TIER[severity]]);

    if (props.schedulerJobs.length) {
      const jobs = props.schedulerJobs.map((j) => JSON.stringify(j)).join(' OR ');
      const failures = this.metrics.custom(
        'scheduler_attempt_failures',
        'Cloud Scheduler attempts of the monitoring jobs that did not succeed',
        `resource.type="cloud_scheduler_job" AND resource.labels.job_id=(${jobs}) AND severity>=ERROR`,
      );
      const alarm = {
        id: 'scheduler-job-failed',
        title: 'Scheduled monitoring job failed',
        severity: 'warning' as const,
        runbook:
          'A Cloud Scheduler attempt (daily report or validation) failed: the handler answered an error, timed out, or the scheduler could not get an OIDC token. Read the job\'s logs and the handler\'s logs; the scheduler retries with backoff, and "run now" in the console reruns the job.',
      };
      this.policy(
        alarm,
        placement,
        [
          {
            displayName: 'failed scheduler attempts >= 1 over 300s',
            conditionThreshold: {
              filter: this.metrics.filterOf(failures, true, 'cloud_scheduler_job'),
              comparison: 'COMPARISON_GE',
              thresholdValue: 1,
              duration: '0s',
              aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_DELTA', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['resource.labels.job_id'] }],
            },
          },
        ],
        'OR',
        bySeverity.warning,
        'any failed attempt of a monitoring job in 5 minutes',
        [failures],
        props.runbookUrl,
      );
    }
  }

  private alertLinePolicy(severity: AlertSeverity, props: AlertingProps, channels: string[]): void {
    const { placement } = props;
    const f = `jsonPayload.${ALERT_LINE_FIELD}`;
    const id = `handler-alert-${severity}`;
    this.policies.set(
      id,
      new MonitoringAlertPolicy(this, `policy-${id}`, {
        project: placement.project,
        displayName: `${placement.namePrefix}: ${severity} alert raised by a monitoring handler`,
        combiner: 'OR',
        enabled: true,
        severity: ALERT_POLICY_SEVERITY[severity],
        conditions: [
          {
            displayName: `a handler logged a ${severity} alert line`,
            conditionMatchedLog: {
              filter: alertLineFilter(props.services, severity),
              labelExtractors: { alert_id: `EXTRACT(${f}.id)`, title: `EXTRACT(${f}.title)`, detail: `EXTRACT(${f}.detail)`, service: 'EXTRACT(resource.labels.service_name)' },
            },
          },
        ],
        notificationChannels: channels,
        // `$${` is Terraform's escape for a literal `${`: Cloud Monitoring gets its own `${log.extracted_label.*}` variables.
        documentation: {
          subject: `[${severity.toUpperCase()}] $\${log.extracted_label.title} (${placement.env})`,
          mimeType: 'text/markdown',
          content: [
            `## $\${log.extracted_label.title}`,
            '',
            `**Severity:** ${severity} · **Environment:** ${placement.env} · **Handler:** $\${log.extracted_label.service}`,
            '',
            '$${log.extracted_label.detail}',
            '',
            '**What to do** (by `alert_id`):',
            ...Object.entries(SIGNALS)
              .filter(([, x]) => x.severity === severity)
              .map(([sid, x]) => `- \`${sid}\` (${x.title}): ${x.runbook}`),
            '',
            `_Condition:_ a monitoring handler logged a structured alert line (\`${f}.severity="${severity}"\`). At most one notification per ${ALERT_LINE_POLICY.rateLimit} for the same alert; the incident closes itself after ${ALERT_LINE_POLICY.autoClose} without a new line.`,
          ].join('\n'),
          links: [
            ...(props.runbookUrl ? [{ displayName: 'Runbook', url: `${props.runbookUrl}#handler-alerts` }] : []),
            { displayName: 'Handler logs', url: `https://console.cloud.google.com/run?project=${placement.project}` },
          ],
        },
        alertStrategy: { notificationRateLimit: { period: ALERT_LINE_POLICY.rateLimit }, autoClose: ALERT_LINE_POLICY.autoClose },
        userLabels: { ...placement.labels, alarm: id, severity },
      }),
    );
  }

  private policy(
    alarm: Pick<AlarmSpec, 'id' | 'title' | 'runbook' | 'severity'>,
    placement: GcpPlacement,
    conditions: MonitoringAlertPolicyConditions[],
    combiner: string,
    channels: string[],
    detail: string,
    deps: LoggingMetric[],
    runbookUrl?: string,
  ): void {
    this.policies.set(
      alarm.id,
      new MonitoringAlertPolicy(this, `policy-${alarm.id}`, {
        project: placement.project,
        displayName: `${placement.namePrefix}: ${alarm.title}`,
        combiner,
        enabled: true,
        severity: GCP_SEVERITY[alarm.severity],
        conditions,
        notificationChannels: channels,
        documentation: documentation(alarm, placement, detail, runbookUrl),
        alertStrategy: { autoClose: '86400s' },
        userLabels: { ...placement.labels, alarm: alarm.id, severity: alarm.severity },
        dependsOn: [...new Set(deps)],
      }),
    );
  }
}
