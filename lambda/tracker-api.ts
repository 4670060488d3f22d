/**
 * Tracker API Lambda: the tracker HTTP API behind API Gateway (HTTP API, IAM auth), plus the periodic
 * staleness sweep (EventBridge Scheduler). Parse the event → core tracker → shape the answer.
 *
 * - HTTP API v2 event: routed by lib/core/tracker-api. IAM (SigV4) already authenticated the caller; the
 *   caller's IAM ARN becomes the actor of the change unless the request sets X-Actor.
 * - `{"action": "sweep"}` (the scheduler's input) or an EventBridge scheduled event: reads every migration
 *   (marking phases whose reporters went quiet as stale) and emits the gauges the stalled alarm needs.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { DynamoDbProgressStore } from '../lib/adapters/aws/dynamodb-store';
import { EmfMetricsSink, emfMetricsListener } from '../lib/adapters/aws/emf-metrics';
import { migrationSnapshotObservations } from '../lib/core/metrics-mapping';
import { Tracker } from '../lib/core/tracker';
import { trackerApi } from '../lib/core/tracker-api';
import { toApiGatewayResult, toHttpRequest } from './shared/apigw';
import { logger, markInvocation, metrics } from './shared/powertools';

const envSchema = z.object({
  TABLE_NAME: z.string().min(3),
  ERROR_RATE_PERCENT: z.coerce.number().min(0).max(100).default(10),
  STALL_MINUTES: z.coerce.number().int().positive().default(30),
  ACTIVITY_TTL_DAYS: z.coerce.number().int().positive().default(90),
  DEFAULT_MIGRATION_ID: z.string().min(1).optional(),
});

function fromEnv() {
  const r = envSchema.safeParse(process.env);
  if (!r.success) throw new Error(`tracker-api: bad environment: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

const env = fromEnv();
const store = new DynamoDbProgressStore({ tableName: env.TABLE_NAME, activityTtlDays: env.ACTIVITY_TTL_DAYS });
const sink = new EmfMetricsSink(metrics);
const tracker = new Tracker({
  store,
  thresholds: { errorRatePercent: env.ERROR_RATE_PERCENT, stallMinutes: env.STALL_MINUTES },
  listeners: [emfMetricsListener(sink)],
});
const api = trackerApi({
  tracker,
  defaultMigrationId: env.DEFAULT_MIGRATION_ID,
  onServerError: (e) => logger.error('tracker API request failed', e as Error),
});

const sweepEventSchema = z.union([
  z.object({ action: z.literal('sweep') }),
  z.object({ source: z.literal('aws.scheduler') }),
  z.object({ 'detail-type': z.literal('Scheduled Event') }),
]);

export type TrackerEvent = APIGatewayProxyEventV2 | { action: 'sweep' } | Record<string, unknown>;

export async function handler(event: TrackerEvent, context?: Context): Promise<APIGatewayProxyResultV2 | { swept: number }> {
  markInvocation();
  if (context) logger.addContext(context);
  try {
    if (isHttpEvent(event)) return toApiGatewayResult(await api(withCallerAsActor(event)));
    if (sweepEventSchema.safeParse(event).success) return await sweep();
    throw new Error(`tracker-api: unsupported event (keys: ${Object.keys(event).slice(0, 10).join(', ')}): expected an HTTP API v2 request or {"action":"sweep"}`);
  } finally {
    metrics.publishStoredMetrics();
  }
}

/** Read every migration (the tracker marks quiet phases stale) and emit its gauges, so silence is visible. */
async function sweep(): Promise<{ swept: number }> {
  const ids = await tracker.list();
  for (const id of ids) {
    for (const o of migrationSnapshotObservations(await tracker.read(id))) sink.record(o);
  }
  sink.flush();
  logger.info('staleness sweep done', { migrations: ids.length });
  return { swept: ids.length };
}

function isHttpEvent(e: TrackerEvent): e is APIGatewayProxyEventV2 {
  const rc = (e as Partial<APIGatewayProxyEventV2>).requestContext;
  return (e as Partial<APIGatewayProxyEventV2>).version === '2.0' && typeof rc?.http?.method === 'string';
}

/** The IAM identity API Gateway verified, as the actor of the change when the caller did not name one. */
function withCallerAsActor(event: APIGatewayProxyEventV2) {
  const req = toHttpRequest(event);
  const iam = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam;
  if (!req.headers['x-actor'] && iam?.userArn) req.headers['x-actor'] = iam.userArn.slice(0, 100);
  return req;
}
