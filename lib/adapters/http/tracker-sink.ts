import { phaseViews, type PhaseView, type SinkResult, type TrackerSink } from '../../core/logwatch/sink';
import type { PhaseState } from '../../core/model';
import { TrackerApiError, TrackerClient, type TrackerClientOptions } from './tracker-client';

/**
 * The tracker over its HTTP API, as the log analyzer's sink: one TrackerClient per migration id (the
 * id travels in X-Migration-Id). 4xx answers are refusals (`{ok: false}`); network errors and 5xx throw,
 * after the client's own retries, so the watcher keeps the line and tries again later.
 */
export function remoteTrackerSink(opts: Omit<TrackerClientOptions, 'migrationId'> | { clientFor: (migrationId: string) => Promise<TrackerClient> }): TrackerSink {
  const clients = new Map<string, Promise<TrackerClient>>();
  const make = 'clientFor' in opts ? opts.clientFor : async (id: string) => new TrackerClient({ actor: 'log-watcher', ...opts, migrationId: id });
  const client = (id: string) => {
    let c = clients.get(id);
    if (!c) clients.set(id, (c = make(id)));
    return c;
  };
  const refusal = async (fn: () => Promise<Record<string, unknown>>): Promise<SinkResult> => {
    try {
      return { ok: true, result: await fn() };
    } catch (e) {
      if (e instanceof TrackerApiError && e.status < 500) return { ok: false, code: e.code, message: e.message };
      throw e;
    }
  };
  const orNull = async <T>(fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof TrackerApiError && e.status === 404) return null;
      throw e;
    }
  };
  return {
    phases: (id) =>
      orNull(async (): Promise<PhaseView[]> => {
        const d = await (await client(id)).dashboard<{ phaseDetails: PhaseState[] }>(0);
        return phaseViews(d.phaseDetails);
      }),
    initialize: (id, req) => refusal(async () => (await client(id)).initialize(req)),
    send: (id, op, key) => refusal(async () => (await client(id)).send(op, key)),
    overview: (id) => orNull(async () => (await client(id)).overview()),
  };
}
