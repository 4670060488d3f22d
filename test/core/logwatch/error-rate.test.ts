/** The log watcher counts successes as well as failures, so one failed write is not a 100 % error rate forever. */
import { buildStatusReport } from '../../../lib/core/report/model';
import { feed, setup } from './helpers';

const line = (o: Record<string, unknown>) => JSON.stringify({ migration_id: 'm', tenant_id: 't', ...o });

describe('error rate from logs', () => {
  it('counts the events copied as successful operations (running totals, counted once), next to failed writes', async () => {
    const { tracker, analyzer, clock } = setup();
    await feed(
      analyzer,
      [
        line({ message: 'Migration started' }),
        line({ message: 'Bulk copy progress', events_count: 4000, events_total: 8000 }),
        line({ message: 'Bulk copy progress', events_count: 4000, events_total: 8000 }), // a repeated total adds nothing
        line({ message: 'Target write failed', operation: 'append' }),
        line({ message: 'Bulk copy complete', events_count: 8000 }),
      ],
      'app.log',
      clock,
    );
    const m = (await tracker.get('m')).metrics;
    expect(m).toMatchObject({ successfulOperations: 8000, failedOperations: 1 });
    expect(m.errorRate).toBeLessThan(0.1);
  });
});

describe('log-watcher conflicts reach the report', () => {
  it('a conflict the watcher found is the report\'s critical "conflict" risk, not only an alert', async () => {
    const { tracker, analyzer, clock } = setup();
    await feed(analyzer, ['Migration started migration_id=m', 'Cutover initiated migration_id=m'], 'app.log', clock);
    const state = await tracker.get('m');
    const activity = await tracker.store.readActivity('m');
    expect(activity.some((a) => a.action.startsWith('conflict.'))).toBe(true);
    const report = buildStatusReport({ state, activity, now: clock.now() });
    expect(report.risks).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'conflict', level: 'critical' })]));
  });
});
