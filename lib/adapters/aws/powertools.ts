import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Logger and Metrics, created once per execution environment and shared by the Lambda shells. Service name
 * and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE (set by HandlerFunction), so
 * every handler writes to the namespace and `service` rollup the alarms read.
 */
export const logger = new Logger();
export const metrics = new Metrics();

/**
 * What every shell does first on each invocation, with the Lambda context: the `ColdStart` metric with its
 * `function_name` dimension (Powertools' own guard emits it on the first invocation of an execution
 * environment only), and the context's request id and function on the log lines.
 */
export function invocationStarted(context: Context | undefined): void {
  metrics.captureColdStartMetric(context?.functionName);
  if (context) logger.addContext(context);
}
