/**
 * The daily status report, runtime-neutral: parse the trigger → runReports (core) → summary. `composeReport`
 * turns an environment into its dependencies, the same way on Lambda (EventBridge Scheduler) and Cloud Run
 * (Cloud Scheduler's POST); the runtime shells only adapt the trigger and the answer.
 *
 * Where migrations are read: the DynamoDB store when TABLE_NAME is set (AWS, next to the tracker), else the
 * tracker API as `trackerAccess` reaches it (GCP calls the AWS tracker keyless, through web identity).
 */
import * as z from '../core/zod';
import { DomainError } from '../core/errors';
import { errorResponse, json, methodNotAllowed, parseJsonBody, type HttpHandler } from '../core/http';
import type { ReportMetrics } from '../core/report/ports';
import { REPORT_FORMATS } from '../core/report/render';
import { runReports, trackerSource, type ReportSource, type RunSummary } from '../core/report/runner';
import { formatZodError } from '../core/validation-util';
import { buildChannels, CHANNEL_SECRET_ARNS, channelEnvSchema, channelSettingsFromEnv, type ChannelSettings } from './channels';
import { parseEnv, EnvError } from './env';
import { metricsFor, reportMetrics, type Runtime } from './metrics';
import { secretFromEnv } from './secrets';
import { trackerAccess } from './tracker-access';
import { thresholdsEnvSchema, trackerFromTable } from './tracker';

export const reportEnvSchema = z.extend(z.extend(channelEnvSchema, {
  TABLE_NAME: z.optional(z.string().check(z.minLength(3))),
  REPORT_FORMAT: z._default(z.enum(REPORT_FORMATS), 'html'),
  REPORT_METRICS: z._default(z.enum(['true', 'false']), 'true'),
  REPORT_TIME_ZONE: z.optional(z.string()),
  REPORT_STATE_DIR: z._default(z.string(), '/tmp/migration-monitor-reports'),
  ACTIVITY_TTL_DAYS: z._default(z.coerce.number().check(z.int(), z.positive()), 90),
}), thresholdsEnvSchema.shape);

/** The trigger: an EventBridge Scheduler `Input`, an EventBridge scheduled event, or a Cloud Scheduler POST body. */
export const reportEventSchema = z.looseObject(z
  .object({
    migrationIds: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.maxLength(100))),
    /** ISO time to report as of (back-filling a missed day). */
    asOf: z.optional(z.iso.datetime({ offset: true })),
  }).shape);

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

/** One line per failed delivery: what a scheduled run throws so the scheduler retries (delivery is idempotent). */
export function failedDeliveries(summary: RunSummary): string {
  return summary.reports
    .filter((r) => !r.ok)
    .map((r) => `${r.migrationId}: ${r.error ?? r.results.filter((x) => x.outcome === 'failed').map((x) => `${x.channel} (${x.error})`).join(', ')}`)
    .join('; ');
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

export async function reportDepsFromEnv(env: NodeJS.ProcessEnv, metrics?: ReportMetrics): Promise<ReportHandlerDeps> {
  const e = parseEnv(reportEnvSchema, env, 'report');
  const thresholds = { stallMinutes: e.STALL_MINUTES, errorRatePercent: e.ERROR_RATE_PERCENT };
  let source: ReportSource;
  if (e.TABLE_NAME) source = trackerSource(trackerFromTable(e.TABLE_NAME, { activityTtlDays: e.ACTIVITY_TTL_DAYS, thresholds }));
  else {
    const access = await trackerAccess(env, 'report');
    if (!access) throw new EnvError('report: bad environment: set TABLE_NAME (read the store) or MIGRATION_MONITOR_URL (read the tracker API)');
    const { httpReportSource } = require('../adapters/http/report-source') as typeof import('../adapters/http/report-source');
    source = httpReportSource({ ...access, actor: 'report' });
  }
  return {
    source,
    settings: await channelSettingsFromEnv(e, (name) => secretFromEnv(env, name, CHANNEL_SECRET_ARNS[name])),
    format: e.REPORT_FORMAT,
    includeMetrics: e.REPORT_METRICS === 'true',
    thresholds,
    ...(e.REPORT_TIME_ZONE ? { timeZone: e.REPORT_TIME_ZONE } : {}),
    ...(metrics ? { metrics } : {}),
  };
}

/** The report on a runtime: its run (scheduled event → summary) and its HTTP face (Cloud Scheduler). */
export async function composeReport(env: NodeJS.ProcessEnv, runtime: Runtime) {
  const deps = await reportDepsFromEnv(env, reportMetrics(metricsFor(runtime)));
  return { run: createReportRun(deps), http: createReportHttpHandler(deps) };
}
