/**
 * Scheduled validation, runtime-neutral: read the checks config → run it (core engine, standard adapters) →
 * post to the tracker → store the report → a short summary. `composeValidation` turns an environment into its
 * dependencies, the same on Lambda (EventBridge Scheduler) and Cloud Run (Cloud Scheduler's POST):
 *
 * - the checks config, one of: VALIDATION_CONFIG_PARAMETER (SSM parameter, SecureString allowed; read at each
 *   run), VALIDATION_CONFIG_PATH (a file in the bundle or image), VALIDATION_CONFIG (the text, e.g. a Secret
 *   Manager value Cloud Run mounts as a variable);
 * - the tracker (optional): whatever `trackerAccess` finds (SigV4, keyless web identity from GCP, a token);
 * - reports (optional): MM_REPORT_SINK=s3|gcs with MM_REPORT_BUCKET and MM_REPORT_PREFIX (default `validation`);
 * - VALIDATION_CHECKPOINT_DIR: a run cut short by the timeout resumes on the next warm start.
 *
 * A failing verdict is a result, not an error: it is answered, recorded on the tracker (which raises the
 * alert) and counted (ValidationFailed). A bad config or environment throws.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as z from '../core/zod';
import { TrackerClient } from '../adapters/http/tracker-client';
import { errorResponse, json, methodNotAllowed, parseJsonBody, type HttpHandler } from '../core/http';
import { DomainError, isDomainError } from '../core/errors';
import type { ReportSink } from '../core/report/ports';
import { configVariables, parseConfigDocument, validateConfig, type ValidationConfig } from '../core/validation/config';
import type { MetricsSink } from '../core/validation/ports';
import { renderReport } from '../core/validation/render';
import type { ValidationReport } from '../core/validation/result';
import type { TrackerPort } from '../core/validation/tracker-reporter';
import { formatZodError } from '../core/validation-util';
import { envFlag, EnvError, parseEnv } from './env';
import { metricsFor, type Runtime } from './metrics';
import { readParameter, secretFromEnv } from './secrets';
import { trackerAccess } from './tracker-access';
import { runConfiguredValidation } from './validation-runtime';

export const validateEnvSchema = z.object({
  VALIDATION_CONFIG: z.optional(z.string().check(z.minLength(1))),
  VALIDATION_CONFIG_PATH: z.optional(z.string().check(z.minLength(1))),
  VALIDATION_CONFIG_PARAMETER: z.optional(z.string().check(z.minLength(1))),
  VALIDATION_CHECKPOINT_DIR: z._default(z.string(), '/tmp/migration-monitor-validation'),
  VALIDATION_RESUME: z._default(envFlag, true),
  /** Stop this long before the Lambda timeout, save progress and answer. */
  VALIDATION_SAFETY_MS: z._default(z.coerce.number().check(z.int(), z.nonnegative()), 20_000),
  MM_REPORT_SINK: z._default(z.enum(['s3', 'gcs', 'none']), 'none'),
  MM_REPORT_BUCKET: z.optional(z.string()),
  MM_REPORT_PREFIX: z._default(z.string(), 'validation'),
});
export type ValidateEnv = z.output<typeof validateEnvSchema>;

/** The trigger: an EventBridge Scheduler `Input`, a scheduled event, or a Cloud Scheduler POST body. */
export const validateEventSchema = z.looseObject(z
  .object({
    /** Continue an interrupted run of the same config (default from VALIDATION_RESUME). */
    resume: z.optional(z.boolean()),
    runId: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
  }).shape);

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

export async function validateDepsFromEnv(env: NodeJS.ProcessEnv, metrics?: MetricsSink): Promise<ValidateDeps> {
  const e = parseEnv(validateEnvSchema, env, 'validate');
  const sources = [e.VALIDATION_CONFIG_PARAMETER, e.VALIDATION_CONFIG_PATH, e.VALIDATION_CONFIG].filter(Boolean);
  if (sources.length !== 1) throw new EnvError('validate: bad environment: set exactly one of VALIDATION_CONFIG_PARAMETER, VALIDATION_CONFIG_PATH, VALIDATION_CONFIG');
  const access = await trackerAccess(env, 'validate');
  return {
    loadConfig: () => loadConfig(e),
    ...(access ? { tracker: { client: new TrackerClient({ ...access, actor: 'validation' }), url: access.url, migrationId: access.migrationId } } : {}),
    sink: reportSinkFromEnv(e),
    metrics,
    checkpointDir: e.VALIDATION_CHECKPOINT_DIR,
    resumeByDefault: e.VALIDATION_RESUME,
    safetyMs: e.VALIDATION_SAFETY_MS,
  };
}

async function loadConfig(e: ValidateEnv): Promise<{ config: ValidationConfig; baseDir: string }> {
  let text: string;
  let source: string;
  let baseDir = process.cwd();
  if (e.VALIDATION_CONFIG_PARAMETER) {
    source = `SSM parameter ${e.VALIDATION_CONFIG_PARAMETER}`;
    text = await readParameter(e.VALIDATION_CONFIG_PARAMETER, { maxAgeMs: 0 }).catch((err: Error) => {
      throw new Error(`validate: ${err.message}`);
    });
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
    const doc = parseConfigDocument(text, source);
    return { config: validateConfig(doc, await withSecretVariables(doc, process.env)), baseDir };
  } catch (err) {
    // the config is the deployment's, not the caller's: a server-side error, with the problem named
    if (isDomainError(err)) throw new Error(`validate: ${source}: ${err.message}`);
    throw err;
  }
}

/**
 * The environment the config's `${VAR}` references resolve from: a variable that is not set but whose
 * `VAR_SECRET_ARN` is takes the value of that Secrets Manager secret (ValidationFunction's `configSecrets`),
 * re-read every five minutes so a rotation is seen.
 */
async function withSecretVariables(doc: unknown, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const names = [...new Set(configVariables(doc).map((v) => v.name))].filter((n) => !env[n] && env[`${n}_SECRET_ARN`]);
  const values = await Promise.all(
    names.map(async (n) => {
      try {
        return [n, await secretFromEnv(env, n, `${n}_SECRET_ARN`, { maxAgeMs: 5 * 60_000 })] as const;
      } catch (e) {
        throw new Error(`validate: the config's \${${n}} comes from ${n}_SECRET_ARN, which cannot be read: ${(e as Error).message}`);
      }
    }),
  );
  return { ...env, ...Object.fromEntries(values) };
}

function reportSinkFromEnv(e: ValidateEnv): ReportSink | undefined {
  if (e.MM_REPORT_SINK === 'none') return undefined;
  if (!e.MM_REPORT_BUCKET) throw new EnvError(`validate: bad environment: MM_REPORT_SINK=${e.MM_REPORT_SINK} needs MM_REPORT_BUCKET`);
  if (e.MM_REPORT_SINK === 's3') {
    const { S3ReportSink } = require('../adapters/aws/s3-report-sink') as typeof import('../adapters/aws/s3-report-sink');
    return new S3ReportSink({ bucket: e.MM_REPORT_BUCKET, prefix: e.MM_REPORT_PREFIX });
  }
  // if/else, not an early throw: esbuild drops a dead `else`, not the code after a throw.
  if (process.env.MM_BUNDLE_OMIT_GCP === 'true') throw new EnvError('validate: bad environment: MM_REPORT_SINK=gcs is not part of the AWS Lambda bundle (use s3)');
  else {
    const { GcsReportSink } = require('../adapters/gcp/gcs-report-sink') as typeof import('../adapters/gcp/gcs-report-sink');
    return new GcsReportSink({ bucket: e.MM_REPORT_BUCKET, prefix: e.MM_REPORT_PREFIX });
  }
}

/** Validation on a runtime: its run (scheduled event → summary) and its HTTP face (Cloud Scheduler). */
export async function composeValidation(env: NodeJS.ProcessEnv, runtime: Runtime) {
  const deps = await validateDepsFromEnv(env, metricsFor(runtime));
  return { run: createValidationRun(deps), http: createValidateHttpHandler(deps) };
}
