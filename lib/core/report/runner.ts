import type { ActivityEntry, MigrationState } from '../model';
import type { Tracker } from '../tracker/service';
import { produceReport, type ChannelResult, type DeliveryOptions } from './deliver';
import type { ReportOptions, TrendInput } from './model';
import { withSpan } from '../tracing';

/** Where a scheduled run reads migrations from and raises its alerts: the store (in-process tracker) or the tracker API. */
export interface ReportSource {
  list(): Promise<string[]>;
  load(migrationId: string, since: number): Promise<{ state: MigrationState; activity: ActivityEntry[]; history?: TrendInput[] }>;
  raiseAlert(migrationId: string, message: string): Promise<void>;
  /** Tell the tracker which channels took the report (it counts reports, so a missing one is visible). */
  recordReport(migrationId: string, reportId: string, channels: string[]): Promise<void>;
}

const REPORT_CHANNELS = ['file', 's3', 'gcs', 'email', 'slack'] as const;
/** The channels that took the report in this run (retries of a delivered report count nothing again). */
export function deliveredChannels(results: ChannelResult[]): Array<(typeof REPORT_CHANNELS)[number]> {
  return [...new Set(results.filter((r) => r.outcome === 'delivered').map((r) => r.channel))].filter((c): c is (typeof REPORT_CHANNELS)[number] => (REPORT_CHANNELS as readonly string[]).includes(c));
}

/** The record_report operation for a delivered report, with an idempotency key that makes a retry count once. */
export function reportRecord(reportId: string, channels: string[]) {
  return { op: { action: 'record_report' as const, reportId, channels: channels as Array<(typeof REPORT_CHANNELS)[number]> }, key: `report:${reportId}:${[...channels].sort().join(',')}` };
}

/**
 * The history a report charts: from the window's start (never before the 30 days the tracker keeps), one point
 * an hour, or coarser so a long window stays within the API's 2,000 points.
 */
export function reportHistoryQuery(since: number, now: number): { from: Date; to: Date; step: string } {
  // never after `now` (the caller's clock may run ahead of the tracker's): at least the last hour
  const from = Math.min(Math.max(since, now - 30 * 86_400_000), now - 3_600_000);
  const stepSeconds = Math.max(3600, Math.ceil((now - from) / 1000 / 1900));
  return { from: new Date(from), to: new Date(now), step: `${stepSeconds}s` };
}

export function trackerSource(tracker: Tracker): ReportSource {
  return {
    list: () => tracker.list(),
    async load(id, since) {
      const state = await tracker.read(id);
      const q = reportHistoryQuery(since, tracker.clock.now());
      const history = (await tracker.history(id, { from: q.from.toISOString(), to: q.to.toISOString(), step: q.step }, state)).points;
      return { state, activity: await tracker.store.readActivity(id, { since }), history: history.map((p) => ({ ...p, t: p.t! })) };
    },
    async raiseAlert(id, message) {
      await tracker.apply(id, { action: 'create_alert', severity: 'error', message }, { actor: 'report' });
    },
    async recordReport(id, reportId, channels) {
      const { op, key } = reportRecord(reportId, channels);
      await tracker.apply(id, op, { actor: 'report', idempotencyKey: key });
    },
  };
}

export interface RunReportsOptions extends Omit<DeliveryOptions, 'alerter'> {
  source: ReportSource;
  /** Default: every migration the source knows. */
  migrationIds?: string[];
  options?: ReportOptions;
}

export interface RunSummary {
  ok: boolean;
  reports: Array<{ migrationId: string; reportId?: string; ok: boolean; results: ChannelResult[]; error?: string }>;
}

const DAY = 24 * 3600 * 1000;

/** One report per migration, each delivered to every channel; a migration that cannot be read does not stop the others. */
export async function runReports(o: RunReportsOptions): Promise<RunSummary> {
  const ids = o.migrationIds?.length ? o.migrationIds : await o.source.list();
  const reports: RunSummary['reports'] = [];
  for (const id of ids) {
    await withSpan('migration.report', { attributes: { 'migration.id': id } }, async (span) => {
      try {
        const { state, activity, history } = await withSpan('migration.report.load', { attributes: { 'migration.id': id } }, () => o.source.load(id, o.now - (o.options?.activityWindowMs ?? DAY)));
        const { report, delivery } = await produceReport({
          ...o,
          alerter: { deliveryFailed: (mid, msg) => o.source.raiseAlert(mid, msg) },
          input: { state, activity, history, options: o.options },
        });
        const delivered = deliveredChannels(delivery.results);
        if (delivered.length) await o.source.recordReport(id, report.reportId, delivered);
        reports.push({ migrationId: id, reportId: report.reportId, ok: delivery.ok, results: delivery.results });
        span.setAttributes({ 'migration.report.id': report.reportId, 'migration.outcome': delivery.ok ? 'delivered' : 'failed' });
        if (!delivery.ok) span.setStatus('error', 'a channel failed');
      } catch (e) {
        span.recordException(e);
        reports.push({ migrationId: id, ok: false, results: [], error: (e as Error).message });
      }
    });
  }
  return { ok: reports.every((r) => r.ok), reports };
}
