/**
 * Daily status report, scheduled: EventBridge Scheduler → this Lambda on AWS; Cloud Scheduler → the same
 * code as an HTTP handler on Cloud Run (lambda/cloud-run.ts, adapter `http`, export `httpHandler`).
 * Parse the trigger → runReports (core) → answer. Configuration comes from the environment; secrets (Slack
 * webhook, SMTP password, tracker token) from Secrets Manager on AWS (`*_SECRET_ARN`) or from environment
 * variables that Cloud Run mounts from Secret Manager. No secret is ever logged.
 *
 * Where migrations are read: the DynamoDB store when TABLE_NAME is set (AWS, next to the tracker), else the
 * tracker API at MIGRATION_MONITOR_URL (GCP calls the AWS tracker).
 */
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { DynamoDbProgressStore } from '../lib/adapters/aws/dynamodb-store';
import { readSecretString } from '../lib/adapters/aws/secrets-manager';
import { httpReportSource } from '../lib/adapters/http/report-source';
import { EmfMetricsSink } from '../lib/adapters/aws/emf-metrics';
import { webhookUrlFromSecret } from '../lib/adapters/local/slack-notifier';
import { OUTPUTS, buildChannels, type ChannelSettings } from '../lib/adapters/report-channels';
import { DomainError } from '../lib/core/errors';
import { errorResponse, json, methodNotAllowed, parseJsonBody, type HttpHandler } from '../lib/core/http';
import type { ReportMetrics } from '../lib/core/report/ports';
import { REPORT_FORMATS } from '../lib/core/report/render';
import { runReports, trackerSource, type ReportSource, type RunSummary } from '../lib/core/report/runner';
import { Tracker } from '../lib/core/tracker';
import { formatZodError } from '../lib/core/validation-util';
import { logger, markInvocation, metrics } from './shared/powertools';

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export const reportEnvSchema = z.object({
  TABLE_NAME: z.string().min(3).optional(),
  MIGRATION_MONITOR_URL: z.url().optional(),
  MIGRATION_MONITOR_TOKEN: z.string().optional(),
  MIGRATION_MONITOR_TOKEN_SECRET_ARN: z.string().optional(),
  REPORT_OUTPUTS: list.pipe(z.array(z.enum(OUTPUTS)).min(1)),
  REPORT_FORMAT: z.enum(REPORT_FORMATS).default('html'),
  REPORT_METRICS: z.enum(['true', 'false']).default('true'),
  REPORT_BUCKET: z.string().optional(),
  REPORT_PREFIX: z.string().optional(),
  REPORT_KMS_KEY_ID: z.string().optional(),
  REPORT_RECIPIENTS: list.optional(),
  REPORT_EMAIL_FROM: z.string().optional(),
  REPORT_EMAIL_VIA: z.enum(['smtp', 'ses']).default('ses'),
  REPORT_TIME_ZONE: z.string().optional(),
  REPORT_STATE_DIR: z.string().default('/tmp/migration-monitor-reports'),
  SMTP_HOST: z.string().optional(),
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(587),
  SMTP_USER: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
  SMTP_PASSWORD_SECRET_ARN: z.string().optional(),
  SLACK_WEBHOOK_URL: z.string().optional(),
  SLACK_WEBHOOK_SECRET_ARN: z.string().optional(),
  STALL_MINUTES: z.coerce.number().positive().default(30),
  ERROR_RATE_PERCENT: z.coerce.number().min(0).max(100).default(10),
  ACTIVITY_TTL_DAYS: z.coerce.number().int().positive().default(90),
});
export type ReportEnv = z.output<typeof reportEnvSchema>;

/** The trigger: an EventBridge Scheduler `Input`, an EventBridge scheduled event, or a Cloud Scheduler POST body. */
export const reportEventSchema = z
  .object({
    migrationIds: z.array(z.string().min(1).max(64)).max(100).optional(),
    /** ISO time to report as of (back-filling a missed day). */
    asOf: z.iso.datetime({ offset: true }).optional(),
  })
  .loose();

export interface ReportHandlerDeps {
  source: ReportSource;
  settings: ChannelSettings;
  format: (typeof REPORT_FORMATS)[number];
  includeMetrics: boolean;
  thresholds: { stallMinutes: number; errorRatePercent: number };
  timeZone?: string;
  metrics?: ReportMetrics;
  now?: () => number;
}

/** The handler's work, without the runtime: parse the trigger, run every report, summarize. */
export function createReportRun(deps: ReportHandlerDeps) {
  return async (event: unknown): Promise<RunSummary> => {
    const ev = reportEventSchema.safeParse(event ?? {});
    if (!ev.success) throw new DomainError('bad_request', `invalid report trigger: ${formatZodError(ev.error)}`);
    const channels = await buildChannels(deps.settings);
    return runReports({
      ...channels,
      source: deps.source,
      format: deps.format,
      now: ev.data.asOf ? Date.parse(ev.data.asOf) : (deps.now ?? Date.now)(),
      metrics: deps.metrics,
      ...(ev.data.migrationIds ? { migrationIds: ev.data.migrationIds } : {}),
      options: { includeMetrics: deps.includeMetrics, thresholds: deps.thresholds, ...(deps.timeZone ? { timeZone: deps.timeZone } : {}) },
    });
  };
}

/** Cloud Scheduler's POST → 200 with the summary; 500 when a channel failed (the scheduler retries; delivery is idempotent). */
export function createReportHttpHandler(deps: ReportHandlerDeps): HttpHandler {
  const run = createReportRun(deps);
  return async (req) => {
    try {
      if (req.method !== 'POST') return methodNotAllowed(['POST'], `${req.method} is not allowed: the report handler takes POST`);
      const body = req.body?.trim() ? parseJsonBody(req) : {};
      const summary = await run(body);
      return json(summary.ok ? 200 : 500, summary);
    } catch (e) {
      return errorResponse(e);
    }
  };
}

// ---------- composition from the environment ----------

export async function depsFromEnv(env: NodeJS.ProcessEnv, metrics?: ReportMetrics): Promise<ReportHandlerDeps> {
  const parsed = reportEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`report: bad environment: ${formatZodError(parsed.error)}`);
  const e = parsed.data;
  const secret = async (value: string | undefined, arn: string | undefined) => {
    if (value || !arn) return value;
    return readSecretString(arn);
  };
  let source: ReportSource;
  if (e.TABLE_NAME) {
    const store = new DynamoDbProgressStore({ tableName: e.TABLE_NAME, activityTtlDays: e.ACTIVITY_TTL_DAYS });
    source = trackerSource(new Tracker({ store, thresholds: { stallMinutes: e.STALL_MINUTES, errorRatePercent: e.ERROR_RATE_PERCENT } }));
  } else if (e.MIGRATION_MONITOR_URL) {
    source = httpReportSource({ url: e.MIGRATION_MONITOR_URL, token: await secret(e.MIGRATION_MONITOR_TOKEN, e.MIGRATION_MONITOR_TOKEN_SECRET_ARN), actor: 'report' });
  } else throw new Error('report: bad environment: set TABLE_NAME (read the store) or MIGRATION_MONITOR_URL (read the tracker API)');
  return {
    source,
    settings: {
      outputs: e.REPORT_OUTPUTS,
      bucket: e.REPORT_BUCKET,
      prefix: e.REPORT_PREFIX,
      kmsKeyId: e.REPORT_KMS_KEY_ID,
      recipients: e.REPORT_RECIPIENTS,
      emailFrom: e.REPORT_EMAIL_FROM,
      emailVia: e.REPORT_EMAIL_VIA,
      smtp: e.SMTP_HOST ? { host: e.SMTP_HOST, port: e.SMTP_PORT, user: e.SMTP_USER, password: await secret(e.SMTP_PASSWORD, e.SMTP_PASSWORD_SECRET_ARN) } : undefined,
      // The stored secret may be the URL or JSON {"url": …}, like the alert notifier's.
      slackWebhookUrl: e.SLACK_WEBHOOK_URL ?? (e.SLACK_WEBHOOK_SECRET_ARN ? webhookUrlFromSecret(await readSecretString(e.SLACK_WEBHOOK_SECRET_ARN)) : undefined),
      stateDir: e.REPORT_STATE_DIR,
    },
    format: e.REPORT_FORMAT,
    includeMetrics: e.REPORT_METRICS === 'true',
    thresholds: { stallMinutes: e.STALL_MINUTES, errorRatePercent: e.ERROR_RATE_PERCENT },
    ...(e.REPORT_TIME_ZONE ? { timeZone: e.REPORT_TIME_ZONE } : {}),
    ...(metrics ? { metrics } : {}),
  };
}

let awsRun: Promise<ReturnType<typeof createReportRun>> | undefined;
/**
 * Report metrics as EMF with both dimension sets: `{service, Channel}` for the dashboard and the `{service}`
 * rollup the `report-missing` alarm reads (EmfMetricsSink). One document per datapoint, as it happens.
 */
const emfSink = new EmfMetricsSink(metrics);
const emf: ReportMetrics = {
  count(metric, channel, value = 1) {
    emfSink.record({ metric, labels: { Channel: channel }, value, mode: 'add' });
    emfSink.flush();
  },
};

/** AWS Lambda entry (EventBridge Scheduler). Metrics as EMF through Powertools; throws when a channel failed so the schedule retries. */
export async function handler(event: unknown, _context?: Context): Promise<RunSummary> {
  markInvocation();
  awsRun ??= depsFromEnv(process.env, emf).then(createReportRun).catch((e) => {
    awsRun = undefined; // a bad environment or an unreadable secret is retried on the next invocation
    throw e;
  });
  const summary = await (await awsRun)(event);
  for (const r of summary.reports) logger.info('report', { migrationId: r.migrationId, reportId: r.reportId, ok: r.ok, results: r.results, error: r.error });
  if (!summary.ok) throw new Error(`report delivery failed: ${summary.reports.filter((r) => !r.ok).map((r) => `${r.migrationId}: ${r.error ?? r.results.filter((x) => x.outcome === 'failed').map((x) => `${x.channel} (${x.error})`).join(', ')}`).join('; ')}`);
  return summary;
}

/** Cloud Run entry (lambda/cloud-run.ts, adapter `http`, export `httpHandler`): metrics as JSON log fields for log-based metrics. */
export async function httpHandler(): Promise<HttpHandler> {
  const logMetrics: ReportMetrics = {
    count(metric, channel, value = 1) {
      process.stdout.write(`${JSON.stringify({ severity: 'INFO', message: `${metric} ${channel}`, Channel: channel, [metric]: value })}\n`);
    },
  };
  return createReportHttpHandler(await depsFromEnv(process.env, logMetrics));
}
