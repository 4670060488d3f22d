import type { Tracker } from '../../core/tracker/service';
import type { PhaseState } from '../../core/model';

export interface DemoOptions {
  migrationId?: string;
  /** Real milliseconds between steps. Default 1000. */
  tickMs?: number;
  /** Progress points a running sub-task or phase gains per step. Default 7. */
  stepPercent?: number;
}

/**
 * A simulated migration that advances in real time through the tracker's own operations (as a migration
 * script would through the API): phases and sub-tasks start, progress and complete; one sub-task fails and
 * is retried, the APIs phase fails once and is restarted, alerts and metrics arrive. It honours pause.
 */
export class DemoSimulator {
  readonly migrationId: string;
  private timer: NodeJS.Timeout | null = null;
  private tick = 0;
  private readonly failedOnce = new Set<string>();
  private busy = false;

  constructor(
    private readonly tracker: Tracker,
    private readonly opts: DemoOptions = {},
  ) {
    this.migrationId = opts.migrationId ?? 'demo';
  }

  async start(): Promise<void> {
    await this.tracker.initialize(this.migrationId, { name: 'Demo: on-prem → cloud', reset: true }, { actor: 'demo' });
    await this.op({ action: 'create_alert', severity: 'info', message: 'Demo migration started: watch it move, pause it, acknowledge alerts' });
    this.timer = setInterval(() => void this.step(), this.opts.tickMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One step of the simulation (public so tests can drive it without timers). */
  async step(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const s = await this.tracker.get(this.migrationId);
      if (s.paused || s.completedAt) return;
      this.tick++;
      const inc = this.opts.stepPercent ?? 7;
      const running = s.phases.find((p) => p.status === 'in_progress');
      if (!running) {
        const failed = s.phases.find((p) => p.status === 'failed');
        const next = failed ?? s.phases.find((p) => p.status === 'pending' && p.dependencies.every((d) => s.phases.find((x) => x.id === d)!.status === 'completed'));
        if (next) await this.op({ action: 'start_phase', phaseId: next.id, nextUpdateSeconds: 30, runId: 'demo-run' });
        return;
      }
      await this.advance(running, inc);
      await this.op({
        action: 'update_metrics',
        increment: { totalDataMigrated: 48 * 1024 * 1024, successfulOperations: 120, failedOperations: this.tick % 5 === 0 ? 3 : 0 },
        metrics: {
          migrationSpeed: (40 + (this.tick % 7) * 3) * 1024 * 1024,
          averageOperationTime: 18 + (this.tick % 4),
          resourceUtilization: { cpu: 35 + (this.tick % 30), memory: 52 + (this.tick % 9) },
          costMetrics: { estimatedCost: 420, actualCost: Math.round(this.tick * 1.7 * 100) / 100 },
        },
      });
    } finally {
      this.busy = false;
    }
  }

  private async advance(p: PhaseState, inc: number) {
    if (p.id === 'apis' && !this.failedOnce.has('apis') && p.progress >= 40) {
      this.failedOnce.add('apis');
      await this.op({ action: 'fail_phase', phaseId: p.id, error: 'health check failed on 2 of 6 API pods (demo)' });
      return;
    }
    if (!p.subTasks.length) {
      const next = Math.min(100, p.progress + inc);
      if (next >= 100) await this.op({ action: 'complete_phase', phaseId: p.id });
      else await this.op({ action: 'update_phase', phaseId: p.id, progress: next, nextUpdateSeconds: 30, metadata: { currentTask: `${p.name}: step ${Math.ceil(next / inc)}` } });
      return;
    }
    const t = p.subTasks.find((x) => x.status === 'in_progress') ?? p.subTasks.find((x) => x.status === 'pending' || x.status === 'failed');
    if (!t) {
      await this.op({ action: 'complete_phase', phaseId: p.id });
      return;
    }
    if (t.status !== 'in_progress') {
      await this.op({ action: 'start_subtask', phaseId: p.id, subTaskId: t.id, nextUpdateSeconds: 30 });
      return;
    }
    if (t.id === 'index-build' && !this.failedOnce.has(t.id) && t.progress >= 30) {
      this.failedOnce.add(t.id);
      await this.op({ action: 'fail_subtask', phaseId: p.id, subTaskId: t.id, error: 'index build ran out of memory (demo); retrying with a smaller batch' });
      await this.op({ action: 'create_alert', severity: 'warning', message: 'Vector index build retried with batch size 500', phaseId: p.id });
      return;
    }
    const next = Math.min(100, t.progress + inc * 2);
    if (next >= 100) await this.op({ action: 'complete_subtask', phaseId: p.id, subTaskId: t.id });
    else await this.op({ action: 'update_subtask', phaseId: p.id, subTaskId: t.id, progress: next, nextUpdateSeconds: 30 });
  }

  private op(o: Parameters<Tracker['apply']>[1]) {
    return this.tracker.apply(this.migrationId, o, { actor: 'demo' });
  }
}
