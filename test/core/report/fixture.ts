import { ManualClock } from '../../../lib/core/clock';
import type { ActivityEntry, MigrationState } from '../../../lib/core/model';
import { applyOperation, type Operation } from '../../../lib/core/tracker/operations';
import { validatePlan, type PhaseDefInput } from '../../../lib/core/plan';
import { newMigration } from '../../../lib/core/tracker/service';

export const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
export const MIN = 60_000;
export const HOUR = 60 * MIN;

export const SMALL_PLAN: PhaseDefInput[] = [
  { id: 'prep', name: 'Preparation', estimatedDuration: 60 },
  { id: 'copy', name: 'Bulk copy', estimatedDuration: 240, dependencies: ['prep'] },
  { id: 'verify', name: 'Verification', estimatedDuration: 60, dependencies: ['copy'] },
  { id: 'cutover', name: 'Cutover', estimatedDuration: 30, dependencies: ['verify'] },
];

/** A migration driven through the real operations with a manual clock; keeps the activity log like a store. */
export class Sim {
  readonly clock = new ManualClock(T0);
  readonly state: MigrationState;
  readonly activity: ActivityEntry[] = [];
  constructor(plan: PhaseDefInput[] = SMALL_PLAN, id = 'orders-db') {
    this.state = newMigration(id, 'Orders DB to Cloud SQL', validatePlan(plan), this.clock.now());
  }
  op(op: Operation, actor = 'job', extra?: (e: ActivityEntry) => void): this {
    const r = applyOperation(this.state, op, { now: this.clock.now(), actor });
    this.state.updatedAt = this.clock.now();
    for (const a of r.activity) {
      extra?.(a);
      this.activity.push(a);
    }
    return this;
  }
  at(ms: number): this {
    this.clock.set(ms);
    return this;
  }
  after(ms: number): this {
    this.clock.advance(ms);
    return this;
  }
  now(): number {
    return this.clock.now();
  }
}

/** A migration with something in every section: a failed retry, a stall, alerts, metrics, validation, hostile text. */
export function busySim(): Sim {
  const s = new Sim();
  s.op({ action: 'start_phase', phaseId: 'prep' }).after(70 * MIN);
  s.op({ action: 'complete_phase', phaseId: 'prep' });
  s.op({ action: 'start_phase', phaseId: 'copy', runId: 'nightly-42' }).after(40 * MIN);
  s.op({ action: 'update_phase', phaseId: 'copy', progress: 35, metadata: { currentTask: 'table <orders> | part 3' } });
  s.op({ action: 'update_metrics', metrics: { totalDataMigrated: 812 * 1024 ** 3, migrationSpeed: 48 * 1024 ** 2 }, increment: { successfulOperations: 9_100, failedOperations: 1_300 } });
  s.op({ action: 'create_alert', severity: 'critical', message: 'Target <script>alert(1)</script> rejecting writes' });
  s.op({ action: 'create_alert', severity: 'warning', message: 'Replication lag above 5 min' });
  s.op({
    action: 'record_validation',
    verdict: 'fail',
    runId: 'val-7',
    checks: [
      { name: 'row-count', kind: 'count', passed: true, summary: '1,204,331 = 1,204,331' },
      { name: 'checksum', kind: 'hash', passed: false, summary: '17 rows differ in orders_2024' },
    ],
  });
  s.after(45 * MIN);
  return s;
}
