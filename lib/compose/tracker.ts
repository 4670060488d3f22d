/**
 * The tracker on a runtime: its store from the environment, the health thresholds, metrics of every change
 * and the periodic sweep, composed once for the Lambda API, the report and log ingest on AWS.
 */
import * as z from '../core/zod';
import { migrationStateObservations, trackerChangeObservations } from '../core/metrics/mapping';
import { Tracker, type TrackerListener } from '../core/tracker/service';
import { trackerApi } from '../core/tracker/api';
import type { HealthThresholds } from '../core/tracker/views';
import { parseEnv } from './env';
import type { RuntimeMetrics } from './metrics';
import { alertsFromEnv, attachAlerts } from './alerts';

/** The health thresholds (tracker `/health`, report badge): one setting per environment, the alarms' too. */
export const thresholdsEnvSchema = z.object({
  STALL_MINUTES: z._default(z.coerce.number().check(z.positive()), 30),
  ERROR_RATE_PERCENT: z._default(z.coerce.number().check(z.gte(0), z.lte(100)), 10),
});

export const trackerEnvSchema = z.extend(thresholdsEnvSchema, {
  TABLE_NAME: z.string().check(z.minLength(3)),
  ACTIVITY_TTL_DAYS: z._default(z.coerce.number().check(z.int(), z.positive()), 90),
  DEFAULT_MIGRATION_ID: z.optional(z.string().check(z.minLength(1))),
});

/** A tracker over the stack's DynamoDB table. */
export function trackerFromTable(tableName: string, o: { activityTtlDays?: number; thresholds?: { stallMinutes: number; errorRatePercent: number }; listeners?: TrackerListener[] } = {}): Tracker {
  const { DynamoDbProgressStore } = require('../adapters/aws/dynamodb-store') as typeof import('../adapters/aws/dynamodb-store');
  return new Tracker({
    store: new DynamoDbProgressStore({ tableName, activityTtlDays: o.activityTtlDays }),
    ...(o.thresholds ? { thresholds: o.thresholds } : {}),
    ...(o.listeners ? { listeners: o.listeners } : {}),
  });
}

/** A tracker listener that records the spec metrics of every change on `sink` and flushes them. */
export function metricsListener(sink: RuntimeMetrics, thresholds?: HealthThresholds): TrackerListener {
  return (change) => {
    for (const o of trackerChangeObservations(change, thresholds)) sink.record(o);
    sink.flush();
  };
}

/**
 * The tracker API on AWS: the API over the table, alert routing (the alert topic, Slack), and the sweep that
 * makes silence visible to the alarms and sends alert reminders and retries.
 */
export function composeTrackerApi(env: NodeJS.ProcessEnv, metrics: RuntimeMetrics, onServerError: (e: unknown) => void) {
  const e = parseEnv(trackerEnvSchema, env, 'tracker-api');
  const thresholds = { errorRatePercent: e.ERROR_RATE_PERCENT, stallMinutes: e.STALL_MINUTES };
  const tracker = trackerFromTable(e.TABLE_NAME, {
    activityTtlDays: e.ACTIVITY_TTL_DAYS,
    thresholds,
    listeners: [metricsListener(metrics, thresholds)],
  });
  const alertSetup = alertsFromEnv(env, 'tracker-api');
  // A Lambda invocation must not end before it sends: the sending is awaited, but its failures are booked, never thrown.
  const alerts = alertSetup.channels.length ? attachAlerts(tracker, alertSetup, { wait: true, log: (l) => onServerError(new Error(l)) }) : undefined;
  return {
    tracker,
    alerts,
    api: trackerApi({ tracker, defaultMigrationId: e.DEFAULT_MIGRATION_ID, onServerError }),
    /** Mark quiet reporters stale and emit every migration's gauges (the stalled alarm reads PhasesRunning); then alert reminders and retries. */
    async sweep(): Promise<{ swept: number; alerts?: { sent: number; failed: number } }> {
      const states = await tracker.sweep();
      const now = tracker.clock.now();
      for (const s of states) for (const o of migrationStateObservations(s, now, tracker.thresholds)) metrics.record(o);
      metrics.flush();
      if (!alerts) return { swept: states.length };
      return { swept: states.length, alerts: await alerts.sweep() };
    },
  };
}
