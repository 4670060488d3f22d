/**
 * Lambda shell of log ingest: a CloudWatch Logs subscription event (base64 gzip) → lines → analyzer → the
 * tracker over the stack's table (lib/compose/log-ingest). A tracker failure throws: Lambda retries the
 * asynchronous invocation, and idempotency keys keep it exact.
 */
import type { CloudWatchLogsEvent, Context } from 'aws-lambda';
import { invocationStarted, logger } from '../lib/adapters/aws/powertools';
import { composeLogIngest } from '../lib/compose/log-ingest';
import { cloudWatchLogsLines, ingestLines, type IngestSummary } from '../lib/core/logwatch/ingest';
import { lazyOnce } from '../lib/core/once';
import { lambdaTraced } from '../lib/compose/tracing';

/** In a span per invocation when tracing is on (lib/compose/tracing.ts); log lines carry its trace id. */
export const handler = lambdaTraced(process.env, 'log-ingest', handle, logger);

const ingest = lazyOnce(() => composeLogIngest(process.env, 'lambda', (severity, message, fields) => (severity === 'ERROR' ? logger.error(message, fields) : logger.warn(message, fields))));

async function handle(event: CloudWatchLogsEvent, context?: Context): Promise<IngestSummary> {
  invocationStarted(context);
  const rt = await ingest.get();
  try {
    return await ingestLines(rt.analyzer, cloudWatchLogsLines(event));
  } finally {
    rt.metrics.flush();
  }
}
