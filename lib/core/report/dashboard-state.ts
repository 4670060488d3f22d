import * as z from 'zod';
import { ALERT_SEVERITIES, metricsSchema, type ActivityEntry, type MigrationState, type PhaseState } from '../model';
import { formatZodError } from '../validation-util';

/**
 * The report needs a MigrationState. The CLI reads one over HTTP (`GET /api/migration/dashboard`), where
 * times are ISO strings; this turns that answer back into a MigrationState, checking it on the way in.
 * What the dashboard does not carry is derived: paused time from the pause/resume events, and only the 100
 * newest alerts are there (older open alerts are counted but not listed).
 */

const isoTime = z.iso.datetime({ offset: true });
const optTime = isoTime.optional().nullable();
const status = z.enum(['pending', 'in_progress', 'completed', 'failed', 'skipped']);

const subTaskSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().default(''),
  estimatedDuration: z.number(),
  status,
  progress: z.number(),
  startedAt: optTime,
  completedAt: optTime,
  updatedAt: optTime,
  error: z.string().optional(),
  skipReason: z.string().optional(),
});

const phaseSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().default(''),
  dependencies: z.array(z.string()),
  estimatedDuration: z.number().positive(),
  status,
  progress: z.number(),
  startedAt: optTime,
  completedAt: optTime,
  updatedAt: optTime,
  progressChangedAt: optTime,
  nextUpdateDueAt: optTime,
  actualDuration: z.number().optional(),
  error: z.string().optional(),
  skipReason: z.string().optional(),
  attempts: z.number().int().default(0),
  stale: z.boolean().default(false),
  metadata: z.record(z.string(), z.unknown()).default({}),
  errors: z.array(z.string()).default([]),
  warnings: z.array(z.string()).default([]),
  subTasks: z.array(subTaskSchema).default([]),
  runId: z.string().optional(),
  failedBy: z.object({ kind: z.literal('validation'), gate: z.boolean(), runId: z.string().optional() }).optional(),
});

export const dashboardSchema = z.object({
  migrationId: z.string(),
  name: z.string(),
  paused: z.boolean(),
  startedAt: optTime,
  completedAt: optTime,
  updatedAt: isoTime,
  phaseDetails: z.array(phaseSchema).min(1),
  alerts: z.array(
    z.object({
      id: z.string(),
      severity: z.enum(ALERT_SEVERITIES),
      message: z.string(),
      phaseId: z.string().optional(),
      createdAt: isoTime,
      source: z.enum(['reporter', 'system']).default('reporter'),
      acknowledged: z.boolean(),
      acknowledgedAt: optTime,
      acknowledgedBy: z.string().optional(),
    }),
  ),
  controlEvents: z.array(z.object({ type: z.enum(['pause', 'resume']), at: isoTime, actor: z.string(), reason: z.string().optional() })).default([]),
  metrics: metricsSchema,
  metricsReported: z.array(z.string()).optional(),
  metricsUpdatedAt: optTime,
  lastValidation: z
    .object({
      at: isoTime,
      runId: z.string().optional(),
      verdict: z.enum(['pass', 'fail']),
      gate: z.boolean().optional(),
      checks: z.array(z.object({ name: z.string(), kind: z.string(), passed: z.boolean(), summary: z.string(), gate: z.boolean().optional() })),
    })
    .optional()
    .nullable(),
});

export const activityResponseSchema = z.object({
  entries: z.array(
    z.object({
      at: isoTime,
      actor: z.string(),
      action: z.string(),
      message: z.string(),
      phaseId: z.string().optional(),
      subTaskId: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
      version: z.number().optional(),
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
