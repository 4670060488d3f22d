import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Logger and Metrics, created once per execution environment and shared by the handlers. Service name and
 * namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE (set by HandlerFunction), so
 * every handler writes to the namespace and `service` rollup the alarms read.
 */
export const logger = new Logger();
export const metrics = new Metrics();

let coldStart = true;
/** Emit the ColdStart metric on the first invocation only (call at the top of a handler). */
export function markInvocation(): void {
  if (!coldStart) return;
  coldStart = false;
  metrics.captureColdStartMetric();
}
