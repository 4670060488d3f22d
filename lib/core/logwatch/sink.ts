import { isDomainError } from '../errors';
import type { PhaseStatus } from '../model';
import type { ProgressOperation } from '../tracker/operations';
import type { PhaseDefInput } from '../plan';
import type { Tracker } from '../tracker/service';

/** What the analyzer needs to know about a phase to detect conflicts. */
export interface PhaseView {
  id: string;
  status: PhaseStatus;
  runId?: string;
  progress: number;
  dependencies: string[];
  hasSubTasks: boolean;
}

/** A refusal is an answer (the tracker said no, with a code); transport and server failures throw instead. */
export type SinkResult = { ok: true; result: Record<string, unknown> } | { ok: false; code: string; message: string };

/**
 * The tracker as the log analyzer sees it. In-process (`trackerSink`, the local watcher with an embedded
 * store) and remote (`remoteTrackerSink`, over the HTTP API) behave the same: refusals come back as
 * `{ok: false}`, anything else that goes wrong throws so the caller retries the line later.
 */
export interface TrackerSink {
  /** The migration's phases, or null when the tracker does not know the migration. */
  phases(migrationId: string): Promise<PhaseView[] | null>;
  initialize(migrationId: string, req: { name?: string; plan?: PhaseDefInput[] }): Promise<SinkResult>;
  send(migrationId: string, op: ProgressOperation, idempotencyKey: string): Promise<SinkResult>;
  /** The tracker's overview of the migration (for the status snapshot), or null when unknown. */
  overview(migrationId: string): Promise<Record<string, unknown> | null>;
}

export const phaseViews = (phases: Array<{ id: string; status: PhaseStatus; runId?: string; progress: number; dependencies: string[]; subTasks: unknown[] }>): PhaseView[] =>
  phases.map((p) => ({
    id: p.id,
    status: p.status,
    ...(p.runId ? { runId: p.runId } : {}),
    progress: p.progress,
    dependencies: [...p.dependencies],
    hasSubTasks: p.subTasks.length > 0,
  }));

/** The tracker in this process (`Tracker.apply`). Domain refusals become `{ok: false}`. */
export function trackerSink(tracker: Tracker, actor = 'log-watcher'): TrackerSink {
  const refusal = async (fn: () => Promise<Record<string, unknown>>): Promise<SinkResult> => {
    try {
      return { ok: true, result: await fn() };
    } catch (e) {
      if (isDomainError(e) && e.status < 500) return { ok: false, code: e.code, message: e.message };
      throw e;
    }
  };
  return {
    async phases(id) {
      if (!(await tracker.exists(id))) return null;
      return phaseViews((await tracker.get(id)).phases);
    },
    initialize: (id, req) => refusal(async () => (await tracker.initialize(id, req, { actor })).result),
    send: (id, op, key) => refusal(async () => (await tracker.apply(id, op, { actor, idempotencyKey: key })).result),
    async overview(id) {
      if (!(await tracker.exists(id))) return null;
      return (await tracker.overview(id)) as unknown as Record<string, unknown>;
    },
  };
}
