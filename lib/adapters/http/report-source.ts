import { activityFromResponse, historyFromResponse, stateFromDashboard } from '../../core/report/dashboard-state';
import { reportHistoryQuery, reportRecord, type ReportSource } from '../../core/report/runner';
import { TrackerClient, type TrackerClientOptions } from './tracker-client';

/** The tracker API's largest activity page. */
const ACTIVITY_LIMIT = 10_000;

/** Reads migrations through the tracker HTTP API (the CLI, and a report handler that runs away from the store). */
export function httpReportSource(opts: TrackerClientOptions): ReportSource {
  const clientFor = (migrationId?: string) => new TrackerClient({ ...opts, ...(migrationId ? { migrationId } : {}) });
  return {
    async list() {
      return opts.migrationId ? [opts.migrationId] : (await clientFor().list()).migrations;
    },
    async load(id, since) {
      const c = clientFor(id);
      const state = stateFromDashboard(await c.dashboard(0));
      const activity = activityFromResponse(await c.activity({ since: new Date(since), limit: ACTIVITY_LIMIT }));
      const history = await c.historyOrNull(reportHistoryQuery(since, Date.now())).then((h) => (h ? historyFromResponse(h) : undefined));
      return { state, activity, history };
    },
    async raiseAlert(id, message) {
      await clientFor(id).send({ action: 'create_alert', severity: 'error', message });
    },
    async recordReport(id, reportId, channels) {
      const { op, key } = reportRecord(reportId, channels);
      await clientFor(id).send(op, key);
    },
  };
}
