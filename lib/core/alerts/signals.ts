/**
 * Alerts a handler raises by itself, without the tracker: the metric observations that mean "tell someone now"
 * (a validation run failed, a search circuit breaker opened, a report could not be delivered). On GCP the one
 * log-line writer (lib/adapters/gcp/log-line-metrics.ts) prints each as a structured alert line, which the
 * stack's log-match alert policies (lib/constructs/gcp/alerting.ts) turn into Cloud Monitoring incidents.
 */
import type { AlertSeverity } from '../model';
import type { Observation } from '../metrics/observation';
import { ALARMS } from '../metrics/spec';
import { failureSeverity } from './severity';

/** The top-level field of the structured alert line that holds the alert (`jsonPayload.alert` in Cloud Logging). */
export const ALERT_LINE_FIELD = 'alert';

export type SignalId = 'validation-failed' | 'validation-gate-failed' | 'breaker-open' | 'report-undelivered';

const runbookOf = (id: string) => ALARMS.find((a) => a.id === id)?.runbook;

/**
 * What each handler alert is, what to do about it. Severities follow lib/core/alerts/severity.ts and agree with
 * the tracker's own alert and the spec alarm of the same event: a failed run is an `error` (degraded), a failed
 * cutover gate `critical` (unhealthy), an undelivered report an `error`; the tracker sees no breakers, and an
 * open one degrades every search: critical. Runbooks are the spec alarm's where one exists.
 */
export const SIGNALS: Record<SignalId, { severity: AlertSeverity; title: string; runbook: string }> = {
  'validation-failed': { severity: failureSeverity('degraded'), title: 'Validation checks failed', runbook: runbookOf('validation-failed')! },
  'validation-gate-failed': { severity: failureSeverity('unhealthy'), title: 'Cutover gate failed: do not cut over', runbook: runbookOf('validation-gate-failed')! },
  'breaker-open': { severity: 'critical', title: 'Search circuit breaker open', runbook: runbookOf('breaker-open')! },
  'report-undelivered': {
    severity: 'error',
    title: 'Status report could not be delivered',
    runbook: 'A report channel (Slack, e-mail, storage) refused the report. Read the handler log for the channel\'s error (webhook revoked, SMTP credentials, bucket permission); the scheduler retries the run, and channels that already got it are not sent to twice.',
  },
};

export interface AlertSignal {
  /** Stable id of what happened (the incident's `alert_id` label). */
  id: SignalId;
  severity: AlertSeverity;
  title: string;
  /** One line naming the instance: which breaker, which channel. */
  detail: string;
}

const signal = (id: SignalId, detail: string): AlertSignal => ({ id, severity: SIGNALS[id].severity, title: SIGNALS[id].title, detail });

/** The alert an observation raises, or null. Only events (counter increments) raise: a gauge that holds does not repeat. */
export function alertSignalOf(o: Observation): AlertSignal | null {
  if (o.value <= 0) return null;
  switch (o.metric) {
    case 'ValidationFailed':
      return signal('validation-failed', 'a validation run ended with verdict fail: the target does not match the source');
    case 'ValidationGateFailed':
      return signal('validation-gate-failed', 'a check marked as a cutover gate failed: cutover past dual-write is refused until a run passes');
    case 'BreakerTransitions':
      return o.labels.ToState === 'open' ? signal('breaker-open', `breaker ${o.labels.Breaker ?? '?'} opened: searches are served by the fallback (degraded)`) : null;
    case 'ReportDeliveryFailures':
      return signal('report-undelivered', `delivery to ${o.labels.Channel ?? '?'} failed (the scheduler retries the run)`);
    default:
      return null;
  }
}

/** The severities handler alerts use (one alert policy each on GCP). */
export const SIGNAL_SEVERITIES: readonly AlertSeverity[] = [...new Set(Object.values(SIGNALS).map((s) => s.severity))];
