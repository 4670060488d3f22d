/**
 * Log ingest on a runtime: the log analyzer between a cloud's log pipeline and the tracker.
 * - the tracker: in-process over the stack's DynamoDB table when TABLE_NAME is set (AWS), else the tracker
 *   API as `trackerAccess` reaches it (GCP: keyless web identity to the AWS tracker, or a token);
 * - patterns, phase map and fields from LOG_WATCH_CONFIG (JSON, optional; see docs/log-tracking.md);
 * - the analyzer's observations and the tracker's change metrics through `metricsFor(runtime)`.
 */
import * as z from '../core/zod';
import { LogAnalyzer, parseLogWatchConfig, trackerSink, type TrackerSink } from '../core/logwatch';
import { pubSubPushHandler } from '../core/logwatch/ingest';
import type { HttpHandler } from '../core/http';
import { envJson, EnvError, parseEnv } from './env';
import { metricsFor, type Runtime, type RuntimeMetrics } from './metrics';
import { trackerAccess } from './tracker-access';
import { metricsListener, trackerFromTable } from './tracker';

const logIngestEnvSchema = z.object({
  LOG_WATCH_CONFIG: z.optional(envJson),
  TABLE_NAME: z.optional(z.string().check(z.minLength(3))),
  ACTIVITY_TTL_DAYS: z._default(z.coerce.number().check(z.int(), z.positive()), 90),
});

export interface LogIngestRuntime {
  analyzer: LogAnalyzer;
  metrics: RuntimeMetrics;
  /** The Pub/Sub push endpoint (Cloud Logging sink → Pub/Sub → here). */
  pubsub: HttpHandler;
}

export async function composeLogIngest(env: NodeJS.ProcessEnv, runtime: Runtime, log: (severity: 'WARNING' | 'ERROR', message: string, fields: Record<string, unknown>) => void): Promise<LogIngestRuntime> {
  const e = parseEnv(logIngestEnvSchema, env, 'log-ingest');
  // A bad LOG_WATCH_CONFIG fails the start, naming the problem.
  const config = parseLogWatchConfig(e.LOG_WATCH_CONFIG);
  const metrics = metricsFor(runtime);
  let sink: TrackerSink;
  if (e.TABLE_NAME) sink = trackerSink(trackerFromTable(e.TABLE_NAME, { activityTtlDays: e.ACTIVITY_TTL_DAYS, listeners: [metricsListener(metrics)] }), 'log-watcher');
  else {
    const access = await trackerAccess(env, 'log-ingest');
    if (!access) throw new EnvError('log-ingest: bad environment: set TABLE_NAME (AWS, in-process) or MIGRATION_MONITOR_URL (the tracker API)');
    if (access.auth === 'none') throw new EnvError('log-ingest: bad environment: the tracker API needs MIGRATION_MONITOR_AWS_ROLE_ARN (keyless), MIGRATION_MONITOR_SIGV4=true or MIGRATION_MONITOR_TOKEN');
    const { remoteTrackerSink } = require('../adapters/http/tracker-sink') as typeof import('../adapters/http/tracker-sink');
    sink = remoteTrackerSink({ ...access, actor: 'log-watcher' });
  }
  const analyzer = new LogAnalyzer({ sink, config, observations: metrics });
  const pubsub = pubSubPushHandler(analyzer, {
    onMalformed: (key, reason) => log('WARNING', 'malformed log entry skipped', { key, reason }),
    onServerError: (err) => log('ERROR', 'log ingest failed', { error: (err as Error).message }),
  });
  return { analyzer, metrics, pubsub };
}
