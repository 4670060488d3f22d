/**
 * Log ingest: the log analyzer behind the clouds' log pipelines, so migrations are tracked from the logs
 * they already write.
 *
 * - `handler` (AWS Lambda): a CloudWatch Logs subscription event (base64 gzip) → lines → analyzer → the
 *   tracker, in-process over the stack's DynamoDB table (TABLE_NAME), with the tracker's EMF metrics and
 *   the analyzer's observations (events copied, dual-write failures, cutover pauses, violations) as EMF.
 *   A tracker failure throws: Lambda retries the asynchronous invocation; idempotency keys keep it exact.
 * - `pubsubHandler` (Cloud Run, adapter `http`): the push endpoint of the Pub/Sub subscription a Cloud
 *   Logging sink feeds; it calls the tracker API on AWS (MM_TRACKER_URL) with SigV4 through keyless web
 *   identity federation (MM_TRACKER_AWS_ROLE_ARN, MM_TRACKER_AWS_REGION), or a bearer token (MM_TRACKER_TOKEN).
 *
 * Patterns, phase map and fields come from LOG_WATCH_CONFIG (JSON, optional; see docs/log-tracking.md).
 */
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { z } from 'zod';
import { LogAnalyzer, parseLogWatchConfig, trackerSink, type LogWatchConfig, type TrackerSink } from '../lib/core/logwatch';
import { cloudWatchLogsLines, ingestLines, pubSubPushHandler, type IngestSummary } from '../lib/core/logwatch/ingest';
import type { HttpHandler } from '../lib/core/http';
import type { ObservationSink } from '../lib/core/logwatch/sink';

/** The config from LOG_WATCH_CONFIG, or the defaults. A bad config fails the cold start, naming the problem. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): LogWatchConfig {
  const raw = env['LOG_WATCH_CONFIG'];
  if (!raw) return parseLogWatchConfig();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new Error(`LOG_WATCH_CONFIG is not JSON: ${(e as Error).message}`);
  }
  return parseLogWatchConfig(parsed);
}

// ---------- AWS: CloudWatch Logs subscription ----------

const awsEnvSchema = z.object({
  TABLE_NAME: z.string().min(3),
  ACTIVITY_TTL_DAYS: z.coerce.number().int().positive().default(90),
});

interface AwsRuntime {
  analyzer: LogAnalyzer;
  flush(): void;
}

let aws: Promise<AwsRuntime> | undefined;

/** Composition root for Lambda, created on the first invocation (the Cloud Run entry never loads the AWS SDK). */
async function awsRuntime(): Promise<AwsRuntime> {
  const r = awsEnvSchema.safeParse(process.env);
  if (!r.success) throw new Error(`log-ingest: bad environment: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const [{ DynamoDbProgressStore }, { EmfMetricsSink, emfMetricsListener }, { Tracker }, { metrics }] = await Promise.all([
    import('../lib/adapters/aws/dynamodb-store'),
    import('../lib/adapters/aws/emf-metrics'),
    import('../lib/core/tracker'),
    import('./shared/powertools'),
  ]);
  const sink = new EmfMetricsSink(metrics);
  const tracker = new Tracker({ store: new DynamoDbProgressStore({ tableName: r.data.TABLE_NAME, activityTtlDays: r.data.ACTIVITY_TTL_DAYS }), listeners: [emfMetricsListener(sink)] });
  return { analyzer: new LogAnalyzer({ sink: trackerSink(tracker), config: configFromEnv(), observations: sink }), flush: () => sink.flush() };
}

/** Build the CloudWatch Logs handler around any analyzer (tests, other compositions). */
export function cloudWatchLogsHandler(runtime: () => Promise<{ analyzer: LogAnalyzer; flush?: () => void }>) {
  return async (event: CloudWatchLogsEvent): Promise<IngestSummary> => {
    const { analyzer, flush } = await runtime();
    try {
      return await ingestLines(analyzer, cloudWatchLogsLines(event));
    } finally {
      flush?.();
    }
  };
}

export const handler = cloudWatchLogsHandler(() => (aws ??= awsRuntime()));

// ---------- GCP: Cloud Logging sink → Pub/Sub push ----------

const gcpEnvSchema = z.object({
  MM_TRACKER_URL: z.url(),
  MM_TRACKER_AWS_ROLE_ARN: z.string().optional(),
  MM_TRACKER_AWS_REGION: z.string().optional(),
  MM_TRACKER_AWS_AUDIENCE: z.string().default('sts.amazonaws.com'),
  MM_TRACKER_TOKEN: z.string().optional(),
});

/** The tracker API as seen from GCP: SigV4 with web-identity credentials when a role is configured, else a bearer token. */
export async function gcpTrackerSink(env: NodeJS.ProcessEnv = process.env): Promise<TrackerSink> {
  const r = gcpEnvSchema.safeParse(env);
  if (!r.success) throw new Error(`log-ingest: bad environment: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = r.data;
  const { remoteTrackerSink } = await import('../lib/adapters/http/tracker-sink');
  if (e.MM_TRACKER_AWS_ROLE_ARN) {
    if (!e.MM_TRACKER_AWS_REGION) throw new Error('log-ingest: MM_TRACKER_AWS_ROLE_ARN needs MM_TRACKER_AWS_REGION');
    const { webIdentityCredentials } = await import('../lib/adapters/gcp/aws-web-identity');
    const { sigv4Fetch } = await import('../lib/adapters/aws/sigv4-fetch');
    const credentials = webIdentityCredentials({ roleArn: e.MM_TRACKER_AWS_ROLE_ARN, region: e.MM_TRACKER_AWS_REGION, audience: e.MM_TRACKER_AWS_AUDIENCE });
    return remoteTrackerSink({ url: e.MM_TRACKER_URL, fetch: sigv4Fetch({ credentials, region: e.MM_TRACKER_AWS_REGION }) });
  }
  if (!e.MM_TRACKER_TOKEN) throw new Error('log-ingest: set MM_TRACKER_AWS_ROLE_ARN (keyless) or MM_TRACKER_TOKEN to reach the tracker API');
  return remoteTrackerSink({ url: e.MM_TRACKER_URL, token: e.MM_TRACKER_TOKEN });
}

/** One JSON line per datapoint on stdout: the log-based metrics read them (see lib/constructs/gcp/log-metrics.ts). */
const stdoutObservations: ObservationSink = {
  record: (o) => process.stdout.write(`${JSON.stringify({ [o.metric]: o.value, ...o.labels, mode: o.mode })}\n`),
};

/** Cloud Run entry (adapter `http`, export `pubsubHandler`): the Pub/Sub push endpoint. */
export async function pubsubHandler(): Promise<HttpHandler> {
  const analyzer = new LogAnalyzer({ sink: await gcpTrackerSink(), config: configFromEnv(), observations: stdoutObservations });
  return pubSubPushHandler(analyzer, {
    onMalformed: (key, reason) => process.stdout.write(`${JSON.stringify({ severity: 'WARNING', message: 'malformed log entry skipped', key, reason })}\n`),
    onServerError: (e) => process.stdout.write(`${JSON.stringify({ severity: 'ERROR', message: 'log ingest failed', error: (e as Error).message })}\n`),
  });
}
