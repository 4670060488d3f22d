import { DemoSimulator } from '../../../lib/adapters/demo/demo-simulator';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { Tracker } from '../../../lib/core/tracker/service';

describe('demo simulator', () => {
  it('walks every phase to completion through the tracker, with a failure, a retry and alerts, and honours pause', async () => {
    const tracker = new Tracker({ store: FileStore.inMemory() });
    const demo = new DemoSimulator(tracker, { stepPercent: 25 });
    await demo.start();
    demo.stop(); // drive it by hand
    await tracker.apply('demo', { action: 'pause' });
    const before = (await tracker.store.load('demo'))!.version;
    await demo.step();
    expect((await tracker.store.load('demo'))!.version).toBe(before);
    await tracker.apply('demo', { action: 'resume' });
    let seenFailedPhase = false;
    for (let i = 0; i < 500; i++) {
      await demo.step();
      const s = await tracker.get('demo');
      if (s.phases.some((p) => p.status === 'failed')) seenFailedPhase = true;
      if (s.completedAt) break;
    }
    const s = await tracker.get('demo');
    expect(s.completedAt).toBeDefined();
    expect(s.phases.every((p) => p.status === 'completed')).toBe(true);
    expect(seenFailedPhase).toBe(true);
    expect(s.phases.find((p) => p.id === 'apis')!.attempts).toBe(2);
    // the failed phase is critical, as its alarm (lib/core/alerts/severity.ts)
    expect(new Set(s.alerts.map((a) => a.severity))).toEqual(new Set(['info', 'warning', 'critical']));
    expect(s.metrics.totalDataMigrated).toBeGreaterThan(0);
  });
});
