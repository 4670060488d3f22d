import * as z from '../zod';
import { ALERT_CONDITIONS, ALERT_SEVERITIES, metricsSchema, type ActivityEntry, type MigrationState, type PhaseState } from '../model';
import { formatZodError } from '../validation-util';
import type { TrendInput } from './model';

/**
 * The report needs a MigrationState. The CLI reads one over HTTP (`GET /api/migration/dashboard`), where
 * times are ISO strings; this turns that answer back into a MigrationState, checking it on the way in.
 * What the dashboard does not carry is derived: paused time from the pause/resume events, and only the 100
 * newest alerts are there (older open alerts are counted but not listed).
 */

const isoTime = z.iso.datetime({ offset: true });
const optTime = z.nullable(z.optional(isoTime));
const status = z.enum(['pending', 'in_progress', 'completed', 'failed', 'skipped']);

const subTaskSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z._default(z.string(), ''),
  estimatedDuration: z.number(),
  status,
  progress: z.number(),
  startedAt: optTime,
  completedAt: optTime,
  updatedAt: optTime,
  error: z.optional(z.string()),
  skipReason: z.optional(z.string()),
});

const phaseSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z._default(z.string(), ''),
  dependencies: z.array(z.string()),
  estimatedDuration: z.number().check(z.positive()),
  status,
  progress: z.number(),
  startedAt: optTime,
  completedAt: optTime,
  updatedAt: optTime,
  progressChangedAt: optTime,
  nextUpdateDueAt: optTime,
  actualDuration: z.optional(z.number()),
  error: z.optional(z.string()),
  skipReason: z.optional(z.string()),
  attempts: z._default(z.number().check(z.int()), 0),
  stale: z._default(z.boolean(), false),
  metadata: z._default(z.record(z.string(), z.unknown()), {}),
  errors: z._default(z.array(z.string()), []),
  warnings: z._default(z.array(z.string()), []),
  subTasks: z._default(z.array(subTaskSchema), []),
  runId: z.optional(z.string()),
  failedBy: z.optional(z.object({ kind: z.literal('validation'), gate: z.boolean(), runId: z.optional(z.string()) })),
});

export const dashboardSchema = z.object({
  migrationId: z.string(),
  name: z.string(),
  paused: z.boolean(),
  startedAt: optTime,
  completedAt: optTime,
  updatedAt: isoTime,
  phaseDetails: z.array(phaseSchema).check(z.minLength(1)),
  alerts: z.array(
    z.object({
      id: z.string(),
      severity: z.enum(ALERT_SEVERITIES),
      message: z.string(),
      phaseId: z.optional(z.string()),
      createdAt: isoTime,
      source: z._default(z.enum(['reporter', 'system']), 'reporter'),
      acknowledged: z.boolean(),
      acknowledgedAt: optTime,
      acknowledgedBy: z.optional(z.string()),
      /** Kept: health leaves out alerts that stand for a condition (it counts the condition itself). */
      condition: z.optional(z.enum(ALERT_CONDITIONS)),
    }),
  ),
  controlEvents: z._default(z.array(z.object({ type: z.enum(['pause', 'resume']), at: isoTime, actor: z.string(), reason: z.optional(z.string()) })), []),
  metrics: metricsSchema,
  metricsReported: z.optional(z.array(z.string())),
  metricsUpdatedAt: optTime,
  lastValidation: z.nullable(z.optional(z
    .object({
      at: isoTime,
      runId: z.optional(z.string()),
      verdict: z.enum(['pass', 'fail']),
      gate: z.optional(z.boolean()),
      checks: z.array(z.object({ name: z.string(), kind: z.string(), passed: z.boolean(), summary: z.string(), gate: z.optional(z.boolean()) })),
    }))),
});

export const activityResponseSchema = z.object({
  entries: z.array(
    z.object({
      at: isoTime,
      actor: z.string(),
      action: z.string(),
      message: z.string(),
      phaseId: z.optional(z.string()),
      subTaskId: z.optional(z.string()),
      details: z.optional(z.record(z.string(), z.unknown())),
      version: z.optional(z.number()),
    }),
  ),
});

const ms = (v: string | null | undefined) => (v ? Date.parse(v) : undefined);

/** Drop keys whose value is undefined (so optional fields stay absent, as in a stored state). */
function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

export function stateFromDashboard(body: unknown): MigrationState {
  const parsed = dashboardSchema.safeParse(body);
  if (!parsed.success) throw new Error(`unexpected dashboard answer from the tracker API: ${formatZodError(parsed.error)}`);
  const d = parsed.data;
  const controlEvents = d.controlEvents.map((e) => compact({ type: e.type, at: Date.parse(e.at), actor: e.actor, reason: e.reason }));
  let pausedMs = 0;
  let pausedAt: number | undefined;
  for (const e of controlEvents) {
    if (e.type === 'pause') pausedAt = e.at;
    else if (pausedAt !== undefined) {
      pausedMs += e.at - pausedAt;
      pausedAt = undefined;
    }
  }
  const phases: PhaseState[] = d.phaseDetails.map((p) =>
    compact({
      ...p,
      startedAt: ms(p.startedAt),
      completedAt: ms(p.completedAt),
      updatedAt: ms(p.updatedAt),
      progressChangedAt: ms(p.progressChangedAt),
      nextUpdateDueAt: ms(p.nextUpdateDueAt),
      subTasks: p.subTasks.map((t) => compact({ ...t, startedAt: ms(t.startedAt), completedAt: ms(t.completedAt), updatedAt: ms(t.updatedAt) })),
    }),
  );
  const updatedAt = Date.parse(d.updatedAt);
  return compact({
    id: d.migrationId,
    name: d.name,
    createdAt: ms(d.startedAt) ?? updatedAt,
    updatedAt,
    startedAt: ms(d.startedAt),
    completedAt: ms(d.completedAt),
    paused: d.paused,
    pausedAt: d.paused ? pausedAt : undefined,
    pausedMs,
    phases,
    alerts: d.alerts.map((a) => compact({ ...a, createdAt: Date.parse(a.createdAt), acknowledgedAt: ms(a.acknowledgedAt) })),
    metrics: d.metrics,
    metricsReported: d.metricsReported,
    metricsUpdatedAt: ms(d.metricsUpdatedAt),
    controlEvents,
    alertSeq: 0,
    lastValidation: d.lastValidation ? compact({ ...d.lastValidation, at: Date.parse(d.lastValidation.at) }) : undefined,
  });
}

export function activityFromResponse(body: unknown): ActivityEntry[] {
  const parsed = activityResponseSchema.safeParse(body);
  if (!parsed.success) throw new Error(`unexpected activity answer from the tracker API: ${formatZodError(parsed.error)}`);
  return parsed.data.entries.map((e) => compact({ ...e, at: Date.parse(e.at) }));
}

const historyResponseSchema = z.object({
  points: z.array(
    z.object({ t: isoTime, overall: z.number(), bytes: z.number(), errorRate: z.number(), remainingPlan: z.number(), eta: z.nullable(isoTime) }),
  ),
});

/** The tracker's GET …/history answer as the report's trend input (checked on the way in). */
export function historyFromResponse(body: unknown): TrendInput[] {
  const parsed = historyResponseSchema.safeParse(body);
  if (!parsed.success) throw new Error(`unexpected history answer from the tracker API: ${formatZodError(parsed.error)}`);
  return parsed.data.points.map((p) => ({ t: p.t, overall: p.overall, bytes: p.bytes, errorRate: p.errorRate, remainingPlan: p.remainingPlan, eta: p.eta }));
}
