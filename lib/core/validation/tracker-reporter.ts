import type { ProgressOperation } from '../tracker/operations';
import type { ValidationObserver } from './ports';
import type { CheckResult, TrackerPosting, ValidationReport } from './result';

/** The part of the tracker API client a validation run uses (TrackerClient fits). */
export interface TrackerPort {
  overview<T = Record<string, unknown>>(): Promise<T>;
  send(op: ProgressOperation, idempotencyKey?: string): Promise<Record<string, unknown>>;
}

interface PhaseInfo {
  id: string;
  status: string;
  subTasks?: unknown[];
}

/** Tracker refusals (409 dependency_blocked, illegal_transition, paused...) carry a code; failures to reach it do not. */
const refusal = (e: unknown): string | null => {
  const err = e as { status?: number; code?: string; message?: string };
  return typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? `${err.code ?? 'refused'}: ${err.message}` : null;
};

/**
 * Posts a validation run to the tracker: starts the validation phase if it is pending and allowed, or
 * retries it (explicitly) when it failed (a phase blocked by its dependencies is noted, not fatal), reports
 * progress after each check, and finally records the run (`record_validation`), which fails the phase on a
 * FAIL and completes it on a PASS, and raises the alert when the verdict is fail. Nothing here fails the
 * run: what went wrong is listed in `posting.problems`.
 */
export class TrackerReporter implements ValidationObserver {
  readonly posting: TrackerPosting;
  private progressOn = false;
  private phaseRunning = false;
  private runId = '';

  private readonly gate: boolean;
  private readonly gateChecks: Set<string>;

  constructor(
    private readonly client: TrackerPort,
    opts: {
      url: string;
      migrationId?: string;
      phase: string;
      completePhaseOnPass?: boolean;
      /** The run is a cutover gate (its failure makes the migration unhealthy). */
      gate?: boolean;
      /** Checks marked as gates. */
      gateChecks?: string[];
    },
    private readonly completeOnPass = opts.completePhaseOnPass ?? true,
  ) {
    this.gate = opts.gate ?? false;
    this.gateChecks = new Set(opts.gateChecks ?? []);
    this.posting = { url: opts.url, ...(opts.migrationId ? { migrationId: opts.migrationId } : {}), phase: opts.phase, phaseStatus: 'not contacted', progressUpdates: 0, recorded: false, problems: [] };
  }

  async onRunStart(info: { runId: string; resumed: boolean }): Promise<void> {
    this.runId = info.runId;
    const phaseId = this.posting.phase;
    let phase: PhaseInfo | undefined;
    try {
      const o = await this.client.overview<{ phases?: PhaseInfo[] }>();
      phase = o.phases?.find((p) => p.id === phaseId);
    } catch (e) {
      this.posting.phaseStatus = 'unknown (tracker not reachable)';
      this.posting.problems.push(`reading the migration failed: ${(e as Error).message}`);
      return;
    }
    if (!phase) {
      this.posting.phaseStatus = 'not in the migration plan: no progress posted';
      return;
    }
    if (phase.status === 'pending' || phase.status === 'failed') {
      try {
        // a failed phase is started again on purpose: the tracker records it as an explicit retry
        await this.client.send({ action: 'start_phase', phaseId, runId: info.runId, metadata: { currentTask: `validation run ${info.runId}` } });
        this.posting.phaseStatus = phase.status === 'failed' ? 'retried (it had failed)' : 'started';
        this.phaseRunning = true;
      } catch (e) {
        const why = refusal(e);
        if (!why) this.posting.problems.push(`starting the phase failed: ${(e as Error).message}`);
        this.posting.phaseStatus = `not started (${why ?? 'error'})`;
        return;
      }
    } else if (phase.status === 'in_progress') {
      this.posting.phaseStatus = 'already in progress';
      this.phaseRunning = true;
    } else {
      this.posting.phaseStatus = `already ${phase.status}: progress not posted`;
      return;
    }
    this.progressOn = !phase.subTasks?.length;
    if (!this.progressOn) this.posting.phaseStatus += ' (progress comes from its sub-tasks: not posted)';
  }

  async onCheckDone(result: CheckResult, index: number, total: number): Promise<void> {
    if (!this.progressOn) return;
    try {
      await this.client.send({
        action: 'update_phase',
        phaseId: this.posting.phase,
        progress: Math.round(((index + 1) / total) * 10000) / 100,
        metadata: { currentTask: `${result.name}: ${result.passed ? 'pass' : 'FAIL'}`.slice(0, 200), validationRun: this.runId },
      });
      this.posting.progressUpdates += 1;
    } catch (e) {
      this.progressOn = false;
      this.posting.problems.push(`progress update refused, no more sent: ${refusal(e) ?? (e as Error).message}`);
    }
  }

  /**
   * Record the run (verdict, gate and a line per check) in one operation that also settles the phase this
   * run was working: a fail fails it, a pass completes it (unless completePhaseOnPass is false). The
   * tracker raises an alert on fail.
   */
  async finish(report: ValidationReport): Promise<TrackerPosting> {
    const checks: Array<{ name: string; kind: string; passed: boolean; summary: string; gate?: boolean }> = report.checks
      .slice(0, 500)
      .map((c) => ({ name: c.name.slice(0, 200), kind: c.kind, passed: c.passed, summary: c.summary.slice(0, 1000), ...(this.gateChecks.has(c.name) ? { gate: true } : {}) }));
    for (const n of report.notRun.slice(0, 500 - checks.length)) checks.push({ name: n.slice(0, 200), kind: 'not-run', passed: false, summary: 'not run', ...(this.gateChecks.has(n) ? { gate: true } : {}) });
    try {
      const r = await this.client.send({
        action: 'record_validation',
        verdict: report.verdict,
        runId: report.runId,
        checks,
        ...(this.gate ? { gate: true } : {}),
        ...(this.phaseRunning ? { phaseId: this.posting.phase, completePhase: this.completeOnPass } : {}),
      });
      this.posting.recorded = true;
      const phase = r['phase'] as { status?: string; changed?: boolean } | undefined;
      if (phase?.changed) this.posting.phaseStatus += `; ${phase.status} (verdict ${report.verdict})`;
    } catch (e) {
      this.posting.problems.push(`recording the validation failed: ${refusal(e) ?? (e as Error).message}`);
    }
    return this.posting;
  }
}
