import type { ActivityEntry, MigrationState } from '../model';
import type { Tracker } from '../tracker/service';
import { produceReport, type ChannelResult, type DeliveryOptions } from './deliver';
import type { ReportOptions } from './model';

/** Where a scheduled run reads migrations from and raises its alerts: the store (in-process tracker) or the tracker API. */
export interface ReportSource {
  list(): Promise<string[]>;
  load(migrationId: string, since: number): Promise<{ state: MigrationState; activity: ActivityEntry[] }>;
  raiseAlert(migrationId: string, message: string): Promise<void>;
}

export function trackerSource(tracker: Tracker): ReportSource {
  return {
    list: () => tracker.list(),
    async load(id, since) {
      const state = await tracker.read(id);
      return { state, activity: await tracker.store.readActivity(id, { since }) };
    },
    async raiseAlert(id, message) {
      await tracker.apply(id, { action: 'create_alert', severity: 'error', message }, { actor: 'report' });
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
    try {
      const { state, activity } = await o.source.load(id, o.now - (o.options?.activityWindowMs ?? DAY));
      const { report, delivery } = await produceReport({
        ...o,
        alerter: { deliveryFailed: (mid, msg) => o.source.raiseAlert(mid, msg) },
        input: { state, activity, options: o.options },
      });
      reports.push({ migrationId: id, reportId: report.reportId, ok: delivery.ok, results: delivery.results });
    } catch (e) {
      reports.push({ migrationId: id, ok: false, results: [], error: (e as Error).message });
    }
  }
  return { ok: reports.every((r) => r.ok), reports };
}
