import * as z from '../zod';
import { DomainError } from '../errors';
import { failureSeverity } from '../alerts/severity';
import { failsGate } from '../validation/gate';
import {
  ALERT_SEVERITIES,
  LIMITS,
  metricsSchema,
  type ActivityEntry,
  type Alert,
  type AlertSeverity,
  type MigrationState,
  type PhaseState,
  type SubTaskState,
} from '../model';
import { idSchema } from '../plan';
import { derivePhaseProgress, migrationStatus, overallProgress, round2 } from '../progress';

const progressSchema = z.number().check(z.gte(0, 'progress must be between 0 and 100'), z.lte(100, 'progress must be between 0 and 100'));
const metadataSchema = z.pipe(z
  // JSON.parse makes "__proto__" an own key, which a record parse drops without a word: refused instead
  .unknown().check(z.refine((m) => !(typeof m === 'object' && m !== null && Object.hasOwn(m, '__proto__')), 'metadata key "__proto__" is not allowed')), z.record(z.string().check(z.maxLength(100)), z.unknown())).check(z.refine((m) => JSON.stringify(m).length <= LIMITS.maxMetadataBytes, `metadata must serialize to at most ${LIMITS.maxMetadataBytes} bytes`));
const nextUpdateSchema = z.number().check(z.int(), z.positive(), z.lte(7 * 24 * 3600));
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

const phaseRef = { phaseId: idSchema };
const subRef = { phaseId: idSchema, subTaskId: idSchema };
const reportFields = {
  metadata: z.optional(metadataSchema),
  /** The reporter promises its next update within this many seconds; silence past it marks the phase stale. */
  nextUpdateSeconds: z.optional(nextUpdateSchema),
};

const partialMetrics = z.partial(z.extend(metricsSchema, {
    resourceUtilization: z.partial(metricsSchema.shape.resourceUtilization),
    costMetrics: z.partial(metricsSchema.shape.costMetrics),
  }));

/** Every mutation a reporter can send to `POST /api/migration/progress`: a typed, validated union. */
export const progressOperationSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('start_phase'), ...phaseRef, ...reportFields, runId: z.optional(z.string().check(z.maxLength(100))) }),
  z.strictObject({ action: z.literal('update_phase'), ...phaseRef, progress: progressSchema, ...reportFields }),
  z.strictObject({ action: z.literal('complete_phase'), ...phaseRef, metadata: z.optional(metadataSchema) }),
  z.strictObject({ action: z.literal('fail_phase'), ...phaseRef, error: text(2000) }),
  z.strictObject({ action: z.literal('skip_phase'), ...phaseRef, reason: text(2000) }),
  z.strictObject({ action: z.literal('start_subtask'), ...subRef, ...reportFields }),
  z.strictObject({ action: z.literal('update_subtask'), ...subRef, progress: progressSchema, ...reportFields }),
  z.strictObject({ action: z.literal('complete_subtask'), ...subRef }),
  z.strictObject({ action: z.literal('fail_subtask'), ...subRef, error: text(2000) }),
  z.strictObject({ action: z.literal('skip_subtask'), ...subRef, reason: text(2000) }),
  z.strictObject({
    action: z.literal('create_alert'),
    severity: z.enum(ALERT_SEVERITIES),
    message: text(2000),
    phaseId: z.optional(idSchema),
    /** A conflict between runs (found by the log watcher): recorded as `conflict.<kind>` too, which the report's critical conflict risk reads. */
    conflict: z.optional(z.enum(['concurrent_runs', 'dependency_not_completed', 'restarted_after_completion'])),
  }),
  /** A status report was delivered (the report runner and CLI send it): the tracker counts reports per channel. */
  z.strictObject({
    action: z.literal('record_report'),
    reportId: text(200),
    channels: z.array(z.enum(['file', 's3', 'gcs', 'email', 'slack'])).check(z.minLength(1), z.maxLength(5)),
  }),
  z.strictObject({
    action: z.literal('record_validation'),
    verdict: z.enum(['pass', 'fail']),
    runId: z.optional(z.string().check(z.maxLength(100))),
    /** The run is a cutover gate: a fail makes the migration unhealthy (otherwise degraded). */
    gate: z.optional(z.boolean()),
    /** The phase this run was working (the validation phase): a fail fails it, a pass completes it (unless `completePhase: false`). */
    phaseId: z.optional(idSchema),
    completePhase: z.optional(z.boolean()),
    checks: z
      .array(z.strictObject({ name: text(200), kind: text(100), passed: z.boolean(), summary: z.string().check(z.maxLength(1000)), gate: z.optional(z.boolean()) })).check(z.maxLength(500)),
  }),
  /** The search proxy's stage was moved forward (`migration-monitor cutover`); `forced` when the validation gate was overridden. */
  z.strictObject({
    action: z.literal('record_cutover'),
    stage: z.enum(['old-only', 'dual-write', 'shadow', 'new-primary']),
    from: z.optional(z.string().check(z.maxLength(40))),
    forced: z._default(z.boolean(), false),
    reason: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
  }),
  /** The search proxy's stage was moved back (`migration-monitor rollback`): the migration is `rolled_back` until the next cutover. */
  z.strictObject({
    action: z.literal('record_rollback'),
    stage: z.enum(['old-only', 'dual-write', 'shadow', 'new-primary']),
    from: z.optional(z.string().check(z.maxLength(40))),
    reason: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
  }),
  z.strictObject({
    action: z.literal('update_metrics'),
    /** Absolute values: replace what is there. */
    metrics: z.optional(partialMetrics),
    /** Counters to add to (totalDataMigrated, successfulOperations, failedOperations). */
    increment: z.optional(z
      .strictObject({
        totalDataMigrated: z.optional(z.number().check(z.nonnegative())),
        successfulOperations: z.optional(z.number().check(z.int(), z.nonnegative())),
        failedOperations: z.optional(z.number().check(z.int(), z.nonnegative())),
      })),
  }),
]);
export type ProgressOperation = z.output<typeof progressOperationSchema>;

/** Actions on `POST /api/migration/dashboard`. */
export const dashboardActionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('pause'), reason: z.optional(z.string().check(z.maxLength(2000))) }),
  z.strictObject({ action: z.literal('resume'), reason: z.optional(z.string().check(z.maxLength(2000))) }),
  z.strictObject({ action: z.literal('acknowledge_alert'), alertId: z.string().check(z.minLength(1), z.maxLength(64)) }),
]);
export type DashboardAction = z.output<typeof dashboardActionSchema>;

export type Operation = ProgressOperation | DashboardAction | { action: 'sweep_staleness' };

export interface ApplyContext {
  now: number;
  /** The authenticated author. */
  actor: string;
  /** Whom the author says they act for (X-Actor). */
  onBehalfOf?: string;
}

export interface ApplyResult {
  activity: ActivityEntry[];
  /** What the caller gets back (kept small: it is stored for idempotent replays). */
  result: Record<string, unknown>;
}

/**
 * Apply one operation to a migration document, in place. Throws a DomainError (and the caller discards the
 * document) when the operation is not allowed; nothing is half-applied because callers work on a copy.
 */
export function applyOperation(s: MigrationState, op: Operation, ctx: ApplyContext): ApplyResult {
  const act: ActivityEntry[] = [];
  const log = (action: string, message: string, extra: Partial<ActivityEntry> = {}) =>
    act.push({ at: ctx.now, actor: ctx.actor, ...(ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf } : {}), action, message, ...extra });
  const { now } = ctx;

  switch (op.action) {
    case 'start_phase': {
      const p = phase(s, op.phaseId);
      const retry = retryOf(p);
      startPhase(s, p, ctx, op.runId);
      report(p, now, op.metadata, op.nextUpdateSeconds);
      const details = { ...(op.runId ? { runId: op.runId } : {}), ...(retry ? { previousError: retry.error } : {}) };
      if (retry) log('phase.retry', `Phase "${p.name}" started (attempt ${p.attempts}): an explicit retry after it failed: ${retry.error}`, { phaseId: p.id, details });
      else log('phase.start', `Phase "${p.name}" started${p.attempts > 1 ? ` (attempt ${p.attempts})` : ''}`, { phaseId: p.id, ...(op.runId ? { details } : {}) });
      break;
    }
    case 'update_phase': {
      const p = phase(s, op.phaseId);
      refuseFailed(p, 'reporting progress on');
      requireStatus(p, ['in_progress'], 'update the progress of');
      if (p.subTasks.length) {
        throw new DomainError(
          'illegal_transition',
          `phase "${p.id}" has sub-tasks; its progress is derived from them (update a sub-task instead)`,
        );
      }
      const moved = round2(op.progress) !== p.progress;
      setProgress(p, round2(op.progress), now);
      report(p, now, op.metadata, op.nextUpdateSeconds);
      if (moved || heartbeatDue(p, now)) {
        log('phase.progress', `Phase "${p.name}" at ${p.progress}%${currentTask(p)}`, { phaseId: p.id, details: { progress: p.progress } });
      }
      break;
    }
    case 'complete_phase': {
      const p = phase(s, op.phaseId);
      refuseFailed(p, 'completing');
      requireStatus(p, ['in_progress'], 'complete');
      const open = p.subTasks.filter((t) => t.status !== 'completed' && t.status !== 'skipped');
      if (open.length) {
        throw new DomainError(
          'illegal_transition',
          `cannot complete phase "${p.id}": sub-tasks not completed or skipped: ${open.map((t) => `${t.id} (${t.status})`).join(', ')}`,
          { openSubTasks: open.map((t) => t.id) },
        );
      }
      setProgress(p, 100, now);
      finish(p, 'completed', now);
      if (op.metadata) Object.assign(p.metadata, op.metadata);
      log('phase.complete', `Phase "${p.name}" completed in ${p.actualDuration} min (estimated ${p.estimatedDuration})`, { phaseId: p.id });
      if (migrationStatus(s) === 'completed') {
        s.completedAt = now;
        log('migration.complete', `Migration "${s.name}" completed`);
      }
      break;
    }
    case 'fail_phase': {
      const p = phase(s, op.phaseId);
      requireStatus(p, ['pending', 'in_progress'], 'fail');
      // A phase that never started can fail only when it could have started (it failed to start).
      const blocking = p.status === 'pending' ? blockingDependencies(s, p) : [];
      if (blocking.length) {
        throw new DomainError('dependency_blocked', `cannot fail phase "${p.id}": it has not started and is waiting for ${blocking.map((b) => `"${b.id}" (${b.status})`).join(', ')}`, { phaseId: p.id, blockedBy: blocking.map((b) => b.id) });
      }
      p.error = op.error;
      pushBounded(p.errors, op.error);
      finish(p, 'failed', now);
      delete p.failedBy;
      log('phase.fail', `Phase "${p.name}" failed: ${op.error}`, { phaseId: p.id });
      // Failed by its reporter (not by a validation): the migration is unhealthy (views.ts phaseFailureHealth).
      addAlert(s, failureSeverity('unhealthy'), `Phase "${p.name}" failed: ${op.error}`, now, 'system', p.id, log).condition = 'phase_failed';
      break;
    }
    case 'skip_phase': {
      const p = phase(s, op.phaseId);
      requireStatus(p, ['pending', 'failed'], 'skip');
      p.skipReason = op.reason;
      finish(p, 'skipped', now);
      log('phase.skip', `Phase "${p.name}" skipped: ${op.reason}`, { phaseId: p.id });
      if (migrationStatus(s) === 'completed') s.completedAt = now;
      break;
    }
    case 'start_subtask': {
      const p = phase(s, op.phaseId);
      const t = subTask(p, op.subTaskId);
      if (p.status === 'pending' || p.status === 'failed') {
        const retry = retryOf(p);
        startPhase(s, p, ctx);
        if (retry) log('phase.retry', `Phase "${p.name}" started (attempt ${p.attempts}, by sub-task "${t.name}"): an explicit retry after it failed: ${retry.error}`, { phaseId: p.id, details: { previousError: retry.error } });
        else log('phase.start', `Phase "${p.name}" started (by sub-task "${t.name}")`, { phaseId: p.id });
      }
      requireStatus(p, ['in_progress'], 'start a sub-task of');
      if (s.paused) throw pausedError(p.id);
      requireSubStatus(p, t, ['pending', 'failed'], 'start');
      t.status = 'in_progress';
      t.progress = 0;
      t.startedAt = now;
      t.updatedAt = now;
      delete t.error;
      refreshDerived(p, now);
      report(p, now, op.metadata, op.nextUpdateSeconds);
      log('subtask.start', `Sub-task "${t.name}" of "${p.name}" started`, { phaseId: p.id, subTaskId: t.id });
      break;
    }
    case 'update_subtask': {
      const p = phase(s, op.phaseId);
      const t = subTask(p, op.subTaskId);
      refuseFailed(p, 'reporting sub-task progress on');
      requireSubStatus(p, t, ['in_progress'], 'update the progress of');
      const moved = round2(op.progress) !== t.progress;
      t.progress = round2(op.progress);
      t.updatedAt = now;
      refreshDerived(p, now);
      report(p, now, op.metadata, op.nextUpdateSeconds);
      if (moved || heartbeatDue(p, now)) log('subtask.progress', `Sub-task "${t.name}" of "${p.name}" at ${t.progress}%`, {
        phaseId: p.id,
        subTaskId: t.id,
        details: { progress: t.progress, phaseProgress: p.progress },
      });
      break;
    }
    case 'complete_subtask': {
      const p = phase(s, op.phaseId);
      const t = subTask(p, op.subTaskId);
      refuseFailed(p, 'completing a sub-task of');
      requireSubStatus(p, t, ['in_progress'], 'complete');
      t.progress = 100;
      finishSubTask(p, t, 'completed', now);
      log('subtask.complete', `Sub-task "${t.name}" of "${p.name}" completed`, { phaseId: p.id, subTaskId: t.id });
      break;
    }
    case 'fail_subtask': {
      const p = phase(s, op.phaseId);
      const t = subTask(p, op.subTaskId);
      requireSubStatus(p, t, ['pending', 'in_progress'], 'fail');
      t.error = op.error;
      pushBounded(p.warnings, `sub-task ${t.id} failed: ${op.error}`);
      finishSubTask(p, t, 'failed', now);
      log('subtask.fail', `Sub-task "${t.name}" of "${p.name}" failed: ${op.error}`, { phaseId: p.id, subTaskId: t.id });
      addAlert(s, 'warning', `Sub-task "${t.name}" of "${p.name}" failed: ${op.error}`, now, 'system', p.id, log);
      break;
    }
    case 'skip_subtask': {
      const p = phase(s, op.phaseId);
      const t = subTask(p, op.subTaskId);
      requireSubStatus(p, t, ['pending', 'failed'], 'skip');
      t.status = 'skipped';
      t.skipReason = op.reason;
      t.updatedAt = now;
      refreshDerived(p, now);
      log('subtask.skip', `Sub-task "${t.name}" of "${p.name}" skipped: ${op.reason}`, { phaseId: p.id, subTaskId: t.id });
      break;
    }
    case 'create_alert': {
      if (op.phaseId) phase(s, op.phaseId);
      const a = addAlert(s, op.severity, op.message, now, 'reporter', op.phaseId, log);
      if (op.conflict) log(`conflict.${op.conflict}`, op.message, { phaseId: op.phaseId, details: { alertId: a.id } });
      return { activity: act, result: { alert: a } };
    }
    case 'record_report': {
      const produced = { ...(s.reports?.produced ?? {}) };
      for (const c of new Set(op.channels)) produced[c] = (produced[c] ?? 0) + 1;
      s.reports = { produced, lastAt: now, lastReportId: op.reportId };
      log('report.record', `Report ${op.reportId} delivered to ${[...new Set(op.channels)].join(', ')}`, { details: { reportId: op.reportId, channels: op.channels } });
      return { activity: act, result: { reportId: op.reportId, produced } };
    }
    case 'record_validation': {
      const target = op.phaseId ? phase(s, op.phaseId) : undefined;
      s.lastValidation = { at: now, verdict: op.verdict, checks: op.checks, ...(op.runId ? { runId: op.runId } : {}), ...(op.gate ? { gate: true } : {}) };
      const verdict = validationVerdict(s.lastValidation);
      log('validation.record', `Validation ${op.verdict}: ${op.checks.length - verdict.failed.length}/${op.checks.length} checks passed${verdict.gate ? ' (a cutover gate)' : ''}`, {
        details: { verdict: op.verdict, failed: verdict.failed, gate: verdict.gate },
      });
      if (op.verdict === 'fail') {
        const failedChecks = op.checks.filter((c) => !c.passed);
        addAlert(s, failureSeverity(verdict.gate ? 'unhealthy' : 'degraded'), `Validation failed${verdict.gate ? ' (a cutover gate: do not cut over)' : ''}: ${failedChecks.map((c) => `${c.name} (${c.summary})`).join('; ').slice(0, 1500)}`, now, 'system', target?.id, log).condition = 'validation_failed';
      }
      const result: Record<string, unknown> = { verdict: op.verdict, failedChecks: verdict.failed, gate: verdict.gate };
      if (target) result['phase'] = settleValidationPhase(s, target, op, verdict, now, log);
      return { activity: act, result };
    }
    case 'record_cutover':
    case 'record_rollback': {
      const rolledBack = op.action === 'record_rollback';
      if (op.action === 'record_cutover' && op.forced && !op.reason) throw new DomainError('validation_failed', 'invalid operation: a forced cutover needs a "reason"');
      s.cutover = { stage: op.stage, ...(op.from ? { from: op.from } : {}), at: now, actor: ctx.actor, ...(ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf } : {}), ...(op.reason ? { reason: op.reason } : {}), forced: op.action === 'record_cutover' && op.forced, rolledBack };
      const what = rolledBack ? 'Rolled back' : op.action === 'record_cutover' && op.forced ? 'Cutover (forced past the validation gate)' : 'Cutover';
      log(rolledBack ? 'migration.rollback' : 'migration.cutover', `${what}: search proxy ${op.from ? `${op.from} -> ` : ''}${op.stage}${op.reason ? `: ${op.reason}` : ''}`, {
        details: { stage: op.stage, ...(op.from ? { from: op.from } : {}), forced: s.cutover.forced, ...(op.reason ? { reason: op.reason } : {}) },
      });
      if (rolledBack) addAlert(s, 'warning', `Rolled back to ${op.stage} by ${ctx.actor}${op.reason ? `: ${op.reason}` : ''}`, now, 'system', undefined, log);
      return { activity: act, result: { status: migrationStatus(s), cutover: s.cutover } };
    }
    case 'update_metrics': {
      if (!op.metrics && !op.increment) {
        throw new DomainError('validation_failed', 'invalid operation: update_metrics needs "metrics" or "increment"');
      }
      const m = s.metrics;
      const { resourceUtilization, costMetrics, ...flat } = op.metrics ?? {};
      Object.assign(m, flat);
      if (resourceUtilization) Object.assign(m.resourceUtilization, resourceUtilization);
      if (costMetrics) Object.assign(m.costMetrics, costMetrics);
      const inc = op.increment ?? {};
      m.totalDataMigrated += inc.totalDataMigrated ?? 0;
      m.successfulOperations += inc.successfulOperations ?? 0;
      m.failedOperations += inc.failedOperations ?? 0;
      const countsChanged =
        op.metrics?.successfulOperations !== undefined || op.metrics?.failedOperations !== undefined || inc.successfulOperations || inc.failedOperations;
      if (op.metrics?.errorRate === undefined && countsChanged) {
        const total = m.successfulOperations + m.failedOperations;
        m.errorRate = total ? round2((m.failedOperations / total) * 100) : 0;
      }
      s.metricsUpdatedAt = now;
      const reported = new Set(s.metricsReported ?? []);
      for (const k of Object.keys(flat)) reported.add(k);
      for (const k of Object.keys(resourceUtilization ?? {})) reported.add(`resourceUtilization.${k}`);
      for (const k of Object.keys(costMetrics ?? {})) reported.add(`costMetrics.${k}`);
      for (const k of Object.keys(inc)) reported.add(k);
      if (countsChanged) reported.add('errorRate');
      if (reported.size !== (s.metricsReported?.length ?? 0)) s.metricsReported = [...reported].sort();
      log('metrics.update', `Metrics updated: ${describeMetrics(op)}`, { details: { ...op.metrics, increment: op.increment } });
      return { activity: act, result: { metrics: m } };
    }
    case 'pause': {
      if (s.paused) throw new DomainError('conflict', 'migration is already paused');
      s.paused = true;
      s.pausedAt = now;
      pushControl(s, { type: 'pause', at: now, actor: ctx.actor, ...(ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf } : {}), reason: op.reason });
      log('migration.pause', `Migration paused${op.reason ? `: ${op.reason}` : ''}`);
      break;
    }
    case 'resume': {
      if (!s.paused) throw new DomainError('conflict', 'migration is not paused');
      s.paused = false;
      const pausedFor = now - (s.pausedAt ?? now);
      s.pausedMs += pausedFor;
      delete s.pausedAt;
      // Paused time is nobody's silence: promises and the stall clock of running phases move on by it.
      for (const p of s.phases) {
        if (p.status !== 'in_progress') continue;
        if (p.nextUpdateDueAt !== undefined) p.nextUpdateDueAt += pausedFor;
        if (p.progressChangedAt !== undefined) p.progressChangedAt += pausedFor;
      }
      pushControl(s, { type: 'resume', at: now, actor: ctx.actor, ...(ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf } : {}), reason: op.reason });
      log('migration.resume', `Migration resumed${op.reason ? `: ${op.reason}` : ''}`);
      break;
    }
    case 'acknowledge_alert': {
      const a = s.alerts.find((x) => x.id === op.alertId);
      if (!a) throw new DomainError('not_found', `unknown alert "${op.alertId}"`);
      if (a.acknowledged) throw new DomainError('conflict', `alert "${op.alertId}" is already acknowledged`);
      a.acknowledged = true;
      a.acknowledgedAt = now;
      a.acknowledgedBy = ctx.actor;
      log('alert.acknowledge', `Alert ${a.id} (${a.severity}) acknowledged: ${a.message}`, { phaseId: a.phaseId, details: { alertId: a.id } });
      return { activity: act, result: { alert: a } };
    }
    case 'sweep_staleness': {
      const marked: string[] = [];
      for (const p of s.phases) {
        if (isOverdue(p, now, s.paused) && !p.stale) {
          p.stale = true;
          marked.push(p.id);
          const quietS = Math.round((now - (p.updatedAt ?? p.startedAt ?? now)) / 1000);
          const lateS = Math.round((now - p.nextUpdateDueAt!) / 1000);
          const due = new Date(p.nextUpdateDueAt!).toISOString();
          log('phase.stale', `Phase "${p.name}" is stale: quiet for ${quietS}s, ${lateS}s past the update it promised by ${due}`, { phaseId: p.id });
          addAlert(s, 'warning', `Phase "${p.name}" is stale: its reporter has been quiet for ${quietS}s, ${lateS}s past the update it promised by ${due}`, now, 'system', p.id, log).condition = 'phase_stale';
        }
      }
      return { activity: act, result: { stalePhases: marked } };
    }
  }
  if (PROGRESS_REPORTS.has(op.action)) s.progressSamples = (s.progressSamples ?? 0) + 1;
  return { activity: act, result: resultFor(s, op) };
}

/** Operations that report progress: each is one sample for the ETA's confidence. */
const PROGRESS_REPORTS = new Set(['update_phase', 'complete_phase', 'update_subtask', 'complete_subtask']);

function resultFor(s: MigrationState, op: Operation): Record<string, unknown> {
  const base = { status: migrationStatus(s), overallProgress: overallProgress(s.phases) };
  if ('phaseId' in op && op.phaseId) {
    const p = s.phases.find((x) => x.id === op.phaseId)!;
    return { ...base, phase: { id: p.id, status: p.status, progress: p.progress } };
  }
  return base;
}

/** What a validation summary says: the failed checks, and whether the failure is a gate's (run or check marked `gate`). */
export function validationVerdict(v: MigrationState['lastValidation']): { failed: string[]; gate: boolean } {
  if (!v) return { failed: [], gate: false };
  const failed = v.checks.filter((c) => !c.passed);
  return { failed: failed.map((c) => c.name), gate: failsGate(v) };
}

/**
 * The phase a validation run worked: a fail fails it (marked as failed by validation, with whether it was a
 * gate: health reads that), a pass completes it unless told not to. A phase that is not running is left as
 * it is (the answer says so): a validation never starts or restarts a phase by itself.
 */
function settleValidationPhase(
  s: MigrationState,
  p: PhaseState,
  op: Extract<ProgressOperation, { action: 'record_validation' }>,
  verdict: { failed: string[]; gate: boolean },
  now: number,
  log: (action: string, message: string, extra?: Partial<ActivityEntry>) => void,
): Record<string, unknown> {
  const out = (changed: boolean, note?: string) => ({ id: p.id, status: p.status, changed, ...(note ? { note } : {}) });
  if (p.status !== 'in_progress') return out(false, `phase "${p.id}" is ${p.status}: left as it is`);
  if (op.verdict === 'fail') {
    const error = `validation run ${op.runId ?? new Date(now).toISOString()} failed: ${verdict.failed.join(', ') || 'no check passed'}${verdict.gate ? ' (a cutover gate)' : ''}`.slice(0, 2000);
    p.error = error;
    pushBounded(p.errors, error);
    finish(p, 'failed', now);
    p.failedBy = { kind: 'validation', gate: verdict.gate, ...(op.runId ? { runId: op.runId } : {}) };
    log('phase.fail', `Phase "${p.name}" failed: ${error}`, { phaseId: p.id, details: { validationRun: op.runId, gate: verdict.gate } });
    return out(true);
  }
  if (op.completePhase === false) return out(false, 'completePhase is false: the phase stays in progress');
  const open = p.subTasks.filter((t) => t.status !== 'completed' && t.status !== 'skipped');
  if (open.length) return out(false, `sub-tasks not completed or skipped: ${open.map((t) => t.id).join(', ')}`);
  setProgress(p, 100, now);
  finish(p, 'completed', now);
  if (op.runId) p.metadata['validationRun'] = op.runId;
  log('phase.complete', `Phase "${p.name}" completed: validation${op.runId ? ` run ${op.runId}` : ''} passed`, { phaseId: p.id });
  if (migrationStatus(s) === 'completed') {
    s.completedAt = now;
    log('migration.complete', `Migration "${s.name}" completed`);
  }
  return out(true);
}

/** The failure a start is about to retry (null for a first start). */
const retryOf = (p: PhaseState): { error: string } | null => (p.status === 'failed' ? { error: p.error ?? 'no reason given' } : null);

/**
 * A failed phase is not completed or moved on by a report: only an explicit retry (start it again) reopens it,
 * so a stray "completed" after an error can never turn a failure into a success.
 */
function refuseFailed(p: PhaseState, what: string) {
  if (p.status !== 'failed') return;
  throw new DomainError(
    'illegal_transition',
    `phase "${p.id}" failed (${p.error ?? 'no reason given'}): ${what} it is refused; start it again (an explicit retry), e.g. start_phase or \`migration-monitor phase start ${p.id}\`, then report on the new attempt`,
    { phaseId: p.id, status: p.status },
  );
}

/** A running phase whose reporter promised an update that has not come. */
/** The phase's reporter is past its promised update. Never while the migration is paused: reporters are told to stop. */
export function isOverdue(p: PhaseState, now: number, paused: boolean): boolean {
  return !paused && p.status === 'in_progress' && p.nextUpdateDueAt !== undefined && now > p.nextUpdateDueAt;
}

function phase(s: MigrationState, id: string): PhaseState {
  const p = s.phases.find((x) => x.id === id);
  if (!p) throw new DomainError('not_found', `unknown phase "${id}" (known: ${s.phases.map((x) => x.id).join(', ')})`);
  return p;
}

function subTask(p: PhaseState, id: string): SubTaskState {
  const t = p.subTasks.find((x) => x.id === id);
  if (!t) {
    const known = p.subTasks.map((x) => x.id).join(', ') || 'none';
    throw new DomainError('not_found', `unknown sub-task "${id}" in phase "${p.id}" (known: ${known})`);
  }
  return t;
}

function requireStatus(p: PhaseState, allowed: PhaseState['status'][], verb: string) {
  if (!allowed.includes(p.status)) {
    throw new DomainError(
      'illegal_transition',
      `cannot ${verb} phase "${p.id}": it is ${p.status} (allowed from: ${allowed.join(', ')})`,
      { phaseId: p.id, status: p.status },
    );
  }
}

function requireSubStatus(p: PhaseState, t: SubTaskState, allowed: SubTaskState['status'][], verb: string) {
  if (!allowed.includes(t.status)) {
    throw new DomainError(
      'illegal_transition',
      `cannot ${verb} sub-task "${t.id}" of phase "${p.id}": it is ${t.status} (allowed from: ${allowed.join(', ')})`,
      { phaseId: p.id, subTaskId: t.id, status: t.status },
    );
  }
  if (p.status === 'completed' || p.status === 'skipped') {
    throw new DomainError('illegal_transition', `cannot ${verb} sub-task "${t.id}": phase "${p.id}" is ${p.status}`);
  }
}

const pausedError = (phaseId: string) =>
  new DomainError('paused', `migration is paused: cannot start phase "${phaseId}" until it is resumed`, { phaseId });

/** The dependencies of `p` that are neither completed nor skipped. */
function blockingDependencies(s: MigrationState, p: PhaseState): PhaseState[] {
  return p.dependencies.map((d) => s.phases.find((x) => x.id === d)!).filter((d) => d.status !== 'completed' && d.status !== 'skipped');
}

function startPhase(s: MigrationState, p: PhaseState, ctx: ApplyContext, runId?: string) {
  requireStatus(p, ['pending', 'failed'], 'start');
  if (s.paused) throw pausedError(p.id);
  const blocking = blockingDependencies(s, p);
  if (blocking.length) {
    throw new DomainError(
      'dependency_blocked',
      `cannot start phase "${p.id}": waiting for ${blocking.map((b) => `"${b.id}" (${b.status})`).join(', ')}`,
      { phaseId: p.id, blockedBy: blocking.map((b) => b.id) },
    );
  }
  p.status = 'in_progress';
  p.attempts += 1;
  p.startedAt = ctx.now;
  p.progressChangedAt = ctx.now;
  p.stale = false;
  delete p.completedAt;
  delete p.actualDuration;
  delete p.error;
  delete p.failedBy;
  if (runId) p.runId = runId;
  if (!p.subTasks.length) p.progress = 0;
  if (!s.startedAt) s.startedAt = ctx.now;
}

function finish(p: PhaseState, status: 'completed' | 'failed' | 'skipped', now: number) {
  p.status = status;
  p.completedAt = now;
  p.updatedAt = now;
  p.stale = false;
  delete p.nextUpdateDueAt;
  delete p.nextUpdateSeconds;
  if (p.startedAt !== undefined) p.actualDuration = round2((now - p.startedAt) / 60000);
}

function report(p: PhaseState, now: number, metadata?: Record<string, unknown>, nextUpdateSeconds?: number) {
  p.updatedAt = now;
  p.stale = false;
  if (metadata) {
    Object.assign(p.metadata, metadata);
    if (JSON.stringify(p.metadata).length > LIMITS.maxMetadataBytes * 2) {
      throw new DomainError('validation_failed', `phase "${p.id}" metadata would exceed ${LIMITS.maxMetadataBytes * 2} bytes`);
    }
  }
  // Any report renews the promise: a new interval when given, else the phase's last one.
  if (nextUpdateSeconds !== undefined) p.nextUpdateSeconds = nextUpdateSeconds;
  if (p.nextUpdateSeconds !== undefined) p.nextUpdateDueAt = now + p.nextUpdateSeconds * 1000;
}

/** A report that did not move the progress (a heartbeat) is logged at most once a minute per phase. */
function heartbeatDue(p: PhaseState, now: number): boolean {
  if (p.heartbeatLoggedAt !== undefined && now - p.heartbeatLoggedAt < 60_000) return false;
  p.heartbeatLoggedAt = now;
  return true;
}

function setProgress(p: PhaseState, v: number, now: number) {
  if (v !== p.progress) p.progressChangedAt = now;
  p.progress = v;
}

/** A sub-task reached an end state: stamp it, re-derive the phase's progress, count it as a report. */
function finishSubTask(p: PhaseState, t: SubTaskState, status: 'completed' | 'failed', now: number) {
  t.status = status;
  t.completedAt = now;
  t.updatedAt = now;
  refreshDerived(p, now);
  report(p, now);
}

function refreshDerived(p: PhaseState, now: number) {
  setProgress(p, derivePhaseProgress(p.subTasks), now);
}

function currentTask(p: PhaseState): string {
  const t = p.metadata['currentTask'];
  return typeof t === 'string' ? ` (${t})` : '';
}

function pushBounded(arr: string[], v: string) {
  arr.push(v);
  if (arr.length > LIMITS.maxPhaseMessages) arr.splice(0, arr.length - LIMITS.maxPhaseMessages);
}

function pushControl(s: MigrationState, e: MigrationState['controlEvents'][number]) {
  s.controlEvents.push(e);
  if (s.controlEvents.length > LIMITS.maxControlEvents) s.controlEvents.splice(0, s.controlEvents.length - LIMITS.maxControlEvents);
}

export function addAlert(
  s: MigrationState,
  severity: AlertSeverity,
  message: string,
  now: number,
  source: Alert['source'],
  phaseId: string | undefined,
  log: (action: string, message: string, extra?: Partial<ActivityEntry>) => void,
): Alert {
  s.alertSeq += 1;
  const a: Alert = { id: `A${s.alertSeq}`, severity, message, createdAt: now, source, acknowledged: false };
  if (phaseId) a.phaseId = phaseId;
  s.alerts.push(a);
  trimAlerts(s);
  log('alert.create', `${severity.toUpperCase()} alert ${a.id}: ${message}`, { phaseId, details: { alertId: a.id, severity } });
  return a;
}

/** Keep the document bounded: drop the oldest acknowledged alerts first, then the oldest info ones. */
function trimAlerts(s: MigrationState) {
  const excess = s.alerts.length - LIMITS.maxAlerts;
  if (excess <= 0) return;
  const order = (a: Alert) => (a.acknowledged ? 0 : a.severity === 'info' ? 1 : a.severity === 'warning' ? 2 : 3);
  const victims = [...s.alerts].sort((a, b) => order(a) - order(b) || a.createdAt - b.createdAt).slice(0, excess);
  const drop = new Set(victims.map((v) => v.id));
  s.alerts = s.alerts.filter((a) => !drop.has(a.id));
}

function describeMetrics(op: Extract<Operation, { action: 'update_metrics' }>): string {
  const parts = [...Object.keys(op.metrics ?? {}), ...Object.keys(op.increment ?? {}).map((k) => `+${k}`)];
  return parts.join(', ');
}
