import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Logger and Metrics, created once per execution environment and shared by the Lambda shells. Service name
 * and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE (set by HandlerFunction), so
 * every handler writes to the namespace and `service` rollup the alarms read. The shells call
 * `metrics.captureColdStartMetric()` on every invocation: Powertools itself emits it on the first one only.
 */
export const logger = new Logger();
export const metrics = new Metrics();
