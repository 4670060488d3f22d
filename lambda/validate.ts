/**
 * Scheduled validation: EventBridge Scheduler → this Lambda on AWS; Cloud Scheduler → the same code on
 * Cloud Run (lambda/cloud-run.ts: adapter `lambda-event` with export `handler`, or adapter `http` with the
 * factory `httpHandler`). Read the checks config → run it (core engine, standard adapters) → post to the
 * tracker → store the report → answer a short summary.
 *
 * Configuration (environment):
 * - the checks config, one of: VALIDATION_CONFIG_PARAMETER (SSM parameter name, SecureString allowed),
 *   VALIDATION_CONFIG_PATH (a file in the bundle or image), VALIDATION_CONFIG (the YAML/JSON text, e.g. a
 *   Secret Manager value mounted as an env var on Cloud Run);
 * - the tracker (optional): MIGRATION_MONITOR_URL with MIGRATION_MONITOR_SIGV4=true (IAM), a token
 *   (MIGRATION_MONITOR_TOKEN or MIGRATION_MONITOR_TOKEN_SECRET_ARN), MIGRATION_MONITOR_MIGRATION; on GCP
 *   the MM_TRACKER_* variables the GCP stack sets (keyless web identity to the AWS tracker, or a token);
 * - reports (optional): MM_REPORT_SINK=s3|gcs with MM_REPORT_BUCKET and MM_REPORT_PREFIX (default `validation`);
 * - VALIDATION_CHECKPOINT_DIR (default /tmp/...): a run cut short by the timeout resumes on the next warm start.
 *
 * A failing verdict is a result, not an error: it is answered, recorded on the tracker (which raises the
 * alert) and counted (ValidationFailed). A bad config or environment throws (HandlerErrors).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { FetchLike } from '../lib/adapters/http/tracker-client';
import { runConfiguredValidation } from '../lib/adapters/validation-deps';
import { errorResponse, json, methodNotAllowed, parseJsonBody, type HttpHandler } from '../lib/core/http';
import { DomainError, isDomainError } from '../lib/core/errors';
import type { ReportSink } from '../lib/core/report/ports';
import { parseConfigText, type ValidationConfig } from '../lib/core/validation/config';
import type { MetricsSink } from '../lib/core/validation/ports';
import { renderReport } from '../lib/core/validation/render';
import type { ValidationReport } from '../lib/core/validation/result';
import type { TrackerPort } from '../lib/core/validation/tracker-reporter';
import { formatZodError } from '../lib/core/validation-util';

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const validateEnvSchema = z.object({
  VALIDATION_CONFIG: z.string().min(1).optional(),
  VALIDATION_CONFIG_PATH: z.string().min(1).optional(),
  VALIDATION_CONFIG_PARAMETER: z.string().min(1).optional(),
  VALIDATION_CHECKPOINT_DIR: z.string().default('/tmp/migration-monitor-validation'),
  VALIDATION_RESUME: flag.default(true),
  /** Stop this long before the Lambda timeout, save progress and answer. */
  VALIDATION_SAFETY_MS: z.coerce.number().int().nonnegative().default(20_000),
  MIGRATION_MONITOR_URL: z.url().optional(),
  MIGRATION_MONITOR_TOKEN: z.string().optional(),
  MIGRATION_MONITOR_TOKEN_SECRET_ARN: z.string().optional(),
  MIGRATION_MONITOR_MIGRATION: z.string().optional(),
  MIGRATION_MONITOR_SIGV4: flag.default(false),
  MM_TRACKER_URL: z.url().optional(),
  MM_TRACKER_TOKEN: z.string().optional(),
  MM_TRACKER_AWS_ROLE_ARN: z.string().optional(),
  MM_TRACKER_AWS_REGION: z.string().optional(),
  MM_TRACKER_AWS_AUDIENCE: z.string().default('sts.amazonaws.com'),
  MM_REPORT_SINK: z.enum(['s3', 'gcs', 'none']).default('none'),
  MM_REPORT_BUCKET: z.string().optional(),
  MM_REPORT_PREFIX: z.string().default('validation'),
});
export type ValidateEnv = z.output<typeof validateEnvSchema>;

/** The trigger: an EventBridge Scheduler `Input`, a scheduled event, or a Cloud Scheduler POST body. */
export const validateEventSchema = z
  .object({
    /** Continue an interrupted run of the same config (default from VALIDATION_RESUME). */
    resume: z.boolean().optional(),
    runId: z.string().min(1).max(100).optional(),
  })
  .loose();

export interface ValidationSummary {
  verdict: 'pass' | 'fail';
  runId: string;
  totals: ValidationReport['totals'];
  failed: Array<{ name: string; kind: string; summary: string }>;
  interrupted: boolean;
  resumed: boolean;
  tracker?: { recorded: boolean; phaseStatus: string; problems: string[] };
  reports: string[];
}

export interface ValidateDeps {
  loadConfig(): Promise<{ config: ValidationConfig; baseDir: string }>;
  tracker?: { client: TrackerPort; url: string; migrationId?: string };
  sink?: ReportSink;
  metrics?: MetricsSink;
  checkpointDir: string;
  resumeByDefault: boolean;
  safetyMs: number;
}

/** The handler's work, without the runtime. */
export function createValidationRun(deps: ValidateDeps) {
  return async (event: unknown, remainingMs?: () => number): Promise<ValidationSummary> => {
    const ev = validateEventSchema.safeParse(event ?? {});
    if (!ev.success) throw new DomainError('bad_request', `invalid validation trigger: ${formatZodError(ev.error)}`);
    const { config, baseDir } = await deps.loadConfig();
    const budget = remainingMs ? remainingMs() - deps.safetyMs : undefined;
    const signal = budget !== undefined ? AbortSignal.timeout(Math.max(1000, budget)) : undefined;
    const report = await runConfiguredValidation(config, {
      baseDir,
      checkpointDir: deps.checkpointDir,
      resume: ev.data.resume ?? deps.resumeByDefault,
      runId: ev.data.runId,
      signal,
      metrics: deps.metrics,
      tracker: deps.tracker,
    });
    const reports: string[] = [];
    if (deps.sink) {
      for (const [fmt, ext, type] of [['json', 'json', 'application/json'], ['markdown', 'md', 'text/markdown; charset=utf-8']] as const) {
        const r = await deps.sink.put(`${report.runId}.${ext}`, renderReport(report, fmt), type);
        reports.push(r.location);
      }
    }
    return {
      verdict: report.verdict,
      runId: report.runId,
      totals: report.totals,
      failed: report.checks.filter((c) => !c.passed).map((c) => ({ name: c.name, kind: c.kind, summary: c.summary })),
      interrupted: report.interrupted,
      resumed: report.resumed,
      ...(report.tracker ? { tracker: { recorded: report.tracker.recorded, phaseStatus: report.tracker.phaseStatus, problems: report.tracker.problems } } : {}),
      reports,
    };
  };
}

/** Cloud Scheduler's POST → 200 with the summary (whatever the verdict); 400 for a bad trigger; 409 while a run is going. */
export function createValidateHttpHandler(deps: ValidateDeps): HttpHandler {
  const run = createValidationRun(deps);
  let busy = false;
  return async (req) => {
    try {
      if (req.method !== 'POST') return methodNotAllowed(['POST'], `${req.method} is not allowed: the validation handler takes POST`);
      if (busy) throw new DomainError('conflict', 'a validation run is already going on this instance');
      const body = req.body?.trim() ? parseJsonBody(req) : {};
      busy = true;
      try {
        return json(200, await run(body));
      } finally {
        busy = false;
      }
    } catch (e) {
      return errorResponse(e, (err) => process.stderr.write(`validate: ${(err as Error)?.stack ?? String(err)}\n`));
    }
  };
}

// ---------- composition from the environment ----------

export interface EnvClients {
  /** Read an SSM parameter (decrypted). */
  getParameter?(name: string): Promise<string>;
  readSecret?(id: string): Promise<string>;
}

export async function depsFromEnv(env: NodeJS.ProcessEnv, metrics?: MetricsSink, clients: EnvClients = {}): Promise<ValidateDeps> {
  const parsed = validateEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`validate: bad environment: ${formatZodError(parsed.error)}`);
  const e = parsed.data;
  const sources = [e.VALIDATION_CONFIG_PARAMETER, e.VALIDATION_CONFIG_PATH, e.VALIDATION_CONFIG].filter(Boolean);
  if (sources.length !== 1) throw new Error('validate: bad environment: set exactly one of VALIDATION_CONFIG_PARAMETER, VALIDATION_CONFIG_PATH, VALIDATION_CONFIG');
  return {
    loadConfig: () => loadConfig(e, clients),
    tracker: await trackerFromEnv(e, clients),
    sink: reportSinkFromEnv(e),
    metrics,
    checkpointDir: e.VALIDATION_CHECKPOINT_DIR,
    resumeByDefault: e.VALIDATION_RESUME,
    safetyMs: e.VALIDATION_SAFETY_MS,
  };
}

async function loadConfig(e: ValidateEnv, clients: EnvClients): Promise<{ config: ValidationConfig; baseDir: string }> {
  let text: string;
  let source: string;
  let baseDir = process.cwd();
  if (e.VALIDATION_CONFIG_PARAMETER) {
    source = `SSM parameter ${e.VALIDATION_CONFIG_PARAMETER}`;
    text = await (clients.getParameter ?? getSsmParameter)(e.VALIDATION_CONFIG_PARAMETER);
  } else if (e.VALIDATION_CONFIG_PATH) {
    source = e.VALIDATION_CONFIG_PATH;
    baseDir = dirname(resolve(e.VALIDATION_CONFIG_PATH));
    text = await readFile(e.VALIDATION_CONFIG_PATH, 'utf8').catch((err: Error) => {
      throw new Error(`validate: cannot read VALIDATION_CONFIG_PATH ${e.VALIDATION_CONFIG_PATH}: ${err.message}`);
    });
  } else {
    source = 'VALIDATION_CONFIG';
    text = e.VALIDATION_CONFIG!;
  }
  try {
    return { config: parseConfigText(text, source), baseDir };
  } catch (err) {
    // the config is the deployment's, not the caller's: a server-side error, with the problem named
    if (isDomainError(err)) throw new Error(`validate: ${source}: ${err.message}`);
    throw err;
  }
}

async function getSsmParameter(name: string): Promise<string> {
  // require, not import(): the SDK stays external to the bundle, and the runtime provides it
  const { SSMClient, GetParameterCommand } = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
  const client = new SSMClient({});
  try {
    const r = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const v = r.Parameter?.Value;
    if (!v) throw new Error('the parameter has no value');
    return v;
  } catch (err) {
    throw new Error(`validate: cannot read SSM parameter ${name}: ${(err as Error).name}: ${(err as Error).message}`);
  } finally {
    client.destroy();
  }
}

async function trackerFromEnv(e: ValidateEnv, clients: EnvClients): Promise<ValidateDeps['tracker']> {
  const url = e.MIGRATION_MONITOR_URL ?? e.MM_TRACKER_URL;
  if (!url) return undefined;
  const { TrackerClient } = await import('../lib/adapters/http/tracker-client');
  let fetchImpl: FetchLike | undefined;
  let token = e.MIGRATION_MONITOR_TOKEN ?? e.MM_TRACKER_TOKEN;
  if (e.MM_TRACKER_AWS_ROLE_ARN) {
    if (!e.MM_TRACKER_AWS_REGION) throw new Error('validate: bad environment: MM_TRACKER_AWS_ROLE_ARN needs MM_TRACKER_AWS_REGION');
    // GCP-only (Google ID token → AWS); left out of the AWS Lambda bundle (esbuild define drops the else).
    if (process.env.MM_BUNDLE_OMIT_GCP === 'true') throw new Error('validate: MM_TRACKER_AWS_ROLE_ARN is for the GCP handler; on AWS use MIGRATION_MONITOR_SIGV4=true');
    else {
      const { webIdentityCredentials } = await import('../lib/adapters/gcp/aws-web-identity');
      const { sigv4Fetch } = await import('../lib/adapters/aws/sigv4-fetch');
      const credentials = webIdentityCredentials({ roleArn: e.MM_TRACKER_AWS_ROLE_ARN, region: e.MM_TRACKER_AWS_REGION, audience: e.MM_TRACKER_AWS_AUDIENCE });
      fetchImpl = sigv4Fetch({ credentials, region: e.MM_TRACKER_AWS_REGION });
    }
  } else if (e.MIGRATION_MONITOR_SIGV4) {
    const { sigv4Fetch } = await import('../lib/adapters/aws/sigv4-fetch');
    fetchImpl = sigv4Fetch();
  } else if (!token && e.MIGRATION_MONITOR_TOKEN_SECRET_ARN) {
    token = await (clients.readSecret ?? (async (id: string) => (await import('../lib/adapters/aws/secrets-manager')).readSecretString(id)))(e.MIGRATION_MONITOR_TOKEN_SECRET_ARN);
  }
  const client = new TrackerClient({ url, token, migrationId: e.MIGRATION_MONITOR_MIGRATION, actor: 'validation', fetch: fetchImpl });
  return { client, url, migrationId: e.MIGRATION_MONITOR_MIGRATION };
}

function reportSinkFromEnv(e: ValidateEnv): ReportSink | undefined {
  if (e.MM_REPORT_SINK === 'none') return undefined;
  if (!e.MM_REPORT_BUCKET) throw new Error(`validate: bad environment: MM_REPORT_SINK=${e.MM_REPORT_SINK} needs MM_REPORT_BUCKET`);
  if (e.MM_REPORT_SINK === 's3') {
    const { S3ReportSink } = require('../lib/adapters/aws/s3-report-sink') as typeof import('../lib/adapters/aws/s3-report-sink');
    return new S3ReportSink({ bucket: e.MM_REPORT_BUCKET, prefix: e.MM_REPORT_PREFIX });
  }
  // if/else, not an early throw: esbuild drops a dead `else`, not the code after a throw.
  if (process.env.MM_BUNDLE_OMIT_GCP === 'true') throw new Error('validate: bad environment: MM_REPORT_SINK=gcs is not part of the AWS Lambda bundle (use s3)');
  else {
    const { GcsReportSink } = require('../lib/adapters/gcp/gcs-report-sink') as typeof import('../lib/adapters/gcp/gcs-report-sink');
    return new GcsReportSink({ bucket: e.MM_REPORT_BUCKET, prefix: e.MM_REPORT_PREFIX });
  }
}

// ---------- runtime entries ----------

let awsRun: Promise<ReturnType<typeof createValidationRun>> | undefined;

/**
 * AWS Lambda entry (EventBridge Scheduler), also served on Cloud Run by the `lambda-event` adapter. Metrics:
 * EMF through Powertools on Lambda, one JSON log line per datapoint elsewhere (Cloud Run log-based metrics).
 */
export async function handler(event: unknown, context?: Context): Promise<ValidationSummary> {
  const onLambda = !!process.env['AWS_LAMBDA_FUNCTION_NAME'];
  let metrics: MetricsSink = logLineMetrics;
  let log = (msg: string, extra: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify({ severity: 'INFO', message: msg, ...extra })}\n`);
  };
  if (onLambda) {
    const pt = await import('./shared/powertools');
    const { EmfMetricsSink } = await import('../lib/adapters/aws/emf-metrics');
    pt.markInvocation();
    metrics = new EmfMetricsSink(pt.metrics);
    log = (msg, extra) => pt.logger.info(msg, extra);
  }
  awsRun ??= depsFromEnv(process.env, metrics).then(createValidationRun).catch((e) => {
    awsRun = undefined;
    throw e;
  });
  const summary = await (await awsRun)(event, context ? () => context.getRemainingTimeInMillis() : undefined);
  log('validation', { ...summary });
  return summary;
}

/** Cloud Run entry (lambda/cloud-run.ts, adapter `http`, export `httpHandler`): metrics as JSON log lines. */
export async function httpHandler(): Promise<HttpHandler> {
  return createValidateHttpHandler(await depsFromEnv(process.env, logLineMetrics));
}

/** One JSON line per datapoint on stdout: what the GCP log-based metrics read. */
const logLineMetrics: MetricsSink = {
  record: (o) => process.stdout.write(`${JSON.stringify({ [o.metric]: o.value, ...o.labels, mode: o.mode })}\n`),
};
