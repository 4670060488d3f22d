/**
 * Alerts a handler raises by itself, without the tracker: the metric observations that mean "tell someone now"
 * (a validation run failed, a search circuit breaker opened, a report could not be delivered). On GCP the one
 * log-line writer (lib/adapters/gcp/log-line-metrics.ts) prints each as a structured alert line, which the
 * stack's log-match alert policies (lib/constructs/gcp/alerting.ts) turn into Cloud Monitoring incidents.
 */
import type { AlertSeverity } from '../model';
import type { Observation } from '../metrics/observation';

/** The top-level field of the structured alert line that holds the alert (`jsonPayload.alert` in Cloud Logging). */
export const ALERT_LINE_FIELD = 'alert';

export interface AlertSignal {
  /** Stable id of what happened (the incident's `alert_id` label). */
  id: 'validation-failed' | 'breaker-open' | 'report-undelivered';
  severity: AlertSeverity;
  title: string;
  /** One line naming the instance: which breaker, which channel. */
  detail: string;
}

/**
 * The alert an observation raises, or null. Only events (counter increments) raise: a gauge that holds does not
 * repeat. Severities agree with the tracker's own alert for the same event (a failed validation and an undelivered
 * report are `error` alerts there too); the tracker sees no breakers, and an open one degrades every search: critical.
 */
export function alertSignalOf(o: Observation): AlertSignal | null {
  if (o.value <= 0) return null;
  switch (o.metric) {
    case 'ValidationFailed':
      return { id: 'validation-failed', severity: 'error', title: 'Validation checks failed', detail: 'a validation run ended with verdict fail: the target does not match the source' };
    case 'BreakerTransitions':
      return o.labels.ToState === 'open'
        ? { id: 'breaker-open', severity: 'critical', title: 'Search circuit breaker open', detail: `breaker ${o.labels.Breaker ?? '?'} opened: searches are served by the fallback (degraded)` }
        : null;
    case 'ReportDeliveryFailures':
      return { id: 'report-undelivered', severity: 'error', title: 'Status report could not be delivered', detail: `delivery to ${o.labels.Channel ?? '?'} failed (the scheduler retries the run)` };
    default:
      return null;
  }
}

/** The severities handler alerts use (one alert policy each on GCP). */
export const SIGNAL_SEVERITIES: readonly AlertSeverity[] = ['critical', 'error'];
