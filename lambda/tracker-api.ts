/**
 * Lambda shell of the tracker API (lib/compose/tracker): HTTP API v2 events behind IAM auth, and the
 * periodic staleness sweep (EventBridge Scheduler input `{"action": "sweep"}`).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import * as z from '../lib/core/zod';
import { isHttpApiEvent, toApiGatewayResult, toHttpRequest, withIamCaller } from '../lib/adapters/aws/apigw';
import { invocationStarted, logger, metrics } from '../lib/adapters/aws/powertools';
import { metricsFor } from '../lib/compose/metrics';
import { composeTrackerApi } from '../lib/compose/tracker';
import { lambdaTraced } from '../lib/compose/tracing';

/** In a span per invocation when tracing is on (lib/compose/tracing.ts); log lines carry its trace id. */
export const handler = lambdaTraced(process.env, 'tracker-api', handle, logger);

const tracker = composeTrackerApi(process.env, metricsFor('lambda'), (e) => logger.error('tracker API request failed', e as Error));

const sweepEventSchema = z.union([
  z.object({ action: z.literal('sweep') }),
  z.object({ source: z.literal('aws.scheduler') }),
  z.object({ 'detail-type': z.literal('Scheduled Event') }),
]);

async function handle(event: APIGatewayProxyEventV2 | Record<string, unknown>, context?: Context): Promise<APIGatewayProxyResultV2 | { swept: number }> {
  invocationStarted(context);
  try {
    if (isHttpApiEvent(event)) return toApiGatewayResult(await tracker.api(withIamCaller(event, toHttpRequest(event))));
    if (sweepEventSchema.safeParse(event).success) {
      const r = await tracker.sweep();
      logger.info('staleness sweep done', { migrations: r.swept });
      return r;
    }
    throw new Error(`tracker-api: unsupported event (keys: ${Object.keys(event).slice(0, 10).join(', ')}): expected an HTTP API v2 request or {"action":"sweep"}`);
  } finally {
    metrics.publishStoredMetrics();
  }
}
