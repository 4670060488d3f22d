/**
 * One rule for how loud a failure is, so the tracker's alert, a handler's alert line (GCP), and the spec alarm
 * (CloudWatch, Cloud Monitoring, Prometheus) of the same event never disagree: the severity follows the health
 * the failure leaves the migration in (lib/core/tracker/views.ts `healthOf`).
 */
import type { AlertSeverity } from '../model';
import type { Severity } from '../metrics/spec';

/** A failure that makes the migration unhealthy is critical (page); one that degrades it is an error (chat). */
export const failureSeverity = (health: 'unhealthy' | 'degraded'): AlertSeverity => (health === 'unhealthy' ? 'critical' : 'error');

/**
 * Alarms have two tiers (`critical` pages, `warning` does not); the tier an alert severity routes with. An
 * alarm of an event is in the tier of the tracker alert and the handler alert line of the same event.
 */
export const ALARM_TIER: Readonly<Record<AlertSeverity, Severity>> = { critical: 'critical', error: 'warning', warning: 'warning', info: 'warning' };
