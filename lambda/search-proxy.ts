/**
 * Lambda shell of the search proxy (function URL / HTTP API event → lib/compose/search-proxy → answer).
 * Built on the first invocation (it reads SSM / Secrets Manager); a failed start answers 500 naming the
 * problem and is tried again on the next invocation.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { toApiGatewayResult, toHttpRequest } from '../lib/adapters/aws/apigw';
import { invocationStarted, logger, metrics } from '../lib/adapters/aws/powertools';
import { composeSearchProxy } from '../lib/compose/search-proxy';
import { json } from '../lib/core/http';
import { lazyOnce } from '../lib/core/once';
import { lambdaTraced } from '../lib/compose/tracing';

/** In a span per invocation when tracing is on (lib/compose/tracing.ts); log lines carry its trace id. */
export const handler = lambdaTraced(process.env, 'search-proxy', handle, logger);

const proxy = lazyOnce(() => composeSearchProxy(process.env, 'lambda', (context, e) => logger.error(`search proxy: ${context}`, e as Error)));

async function handle(event: APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyResultV2> {
  invocationStarted(context);
  try {
    const rt = await proxy.get();
    return toApiGatewayResult(await rt.handler(toHttpRequest(event)));
  } catch (e) {
    logger.error('search proxy could not start', e as Error);
    return toApiGatewayResult(json(500, { error: { code: 'misconfigured', message: (e as Error).message } }));
  } finally {
    metrics.publishStoredMetrics();
  }
}
