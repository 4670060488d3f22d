/**
 * Lambda shell of scheduled validation (EventBridge Scheduler → lib/compose/validate). A failing verdict is
 * a result (answered, recorded on the tracker, counted); a bad config or environment throws.
 */
import type { Context } from 'aws-lambda';
import { invocationStarted, logger } from '../lib/adapters/aws/powertools';
import { composeValidation, type ValidationSummary } from '../lib/compose/validate';
import { lazyOnce } from '../lib/core/once';
import { lambdaTraced } from '../lib/compose/tracing';

/** In a span per invocation when tracing is on (lib/compose/tracing.ts); log lines carry its trace id. */
export const handler = lambdaTraced(process.env, 'validate', handle, logger);

const validation = lazyOnce(() => composeValidation(process.env, 'lambda'));

async function handle(event: unknown, context?: Context): Promise<ValidationSummary> {
  invocationStarted(context);
  const summary = await (await validation.get()).run(event, context ? () => context.getRemainingTimeInMillis() : undefined);
  logger.info('validation', { ...summary });
  return summary;
}
