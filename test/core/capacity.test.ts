import { formatDuration, measuredCapacity, planCapacity } from '../../lib/core/capacity';
import { DomainError } from '../../lib/core/errors';

describe('capacity planner', () => {
  it('gives bulk copy, catch-up, cutover and a buffered total (the classic estimate when nothing is written meanwhile)', () => {
    expect(planCapacity({ totalEvents: 5_000_000, copyRatePerSecond: 10_000 })).toEqual({
      bulkCopySeconds: 500,
      backlogEvents: 100,
      catchUpSeconds: 0.01,
      cutoverSeconds: 5,
      rawTotalSeconds: 505.01,
      bufferFactor: 1.5,
      totalSeconds: 757.515,
    });
  });

  it('turns writes during the copy into catch-up backlog, drained at catch-up rate minus write rate', () => {
    const e = planCapacity({ totalEvents: 1_000_000, copyRatePerSecond: 1000, writeRatePerSecond: 100, catchUpRatePerSecond: 600, lagEvents: 0, cutoverPauseSeconds: 2, bufferFactor: 1 });
    // 1000 s of copying leaves 100 000 events behind; the target gains 500/s on them: 200 s.
    expect(e).toMatchObject({ bulkCopySeconds: 1000, backlogEvents: 100_000, catchUpSeconds: 200, totalSeconds: 1202 });
  });

  it('refuses a catch-up that never converges and bad inputs, naming them', () => {
    expect(() => planCapacity({ totalEvents: 10, copyRatePerSecond: 100, writeRatePerSecond: 100 })).toThrow(/catch-up never finishes: the source takes 100 events\/s and the target applies only 100 events\/s/);
    expect(() => planCapacity({ totalEvents: 10, copyRatePerSecond: 0 })).toThrow(DomainError);
    expect(() => planCapacity({ totalEvents: -1, copyRatePerSecond: 1 })).toThrow(/totalEvents/);
    expect(() => planCapacity({ totalEvents: 1, copyRatePerSecond: 1, bufferFactor: 0.5 })).toThrow(/bufferFactor/);
  });

  it('estimates the rest from the measured copy rate the same way (the tracker\'s ETA)', () => {
    const start = Date.UTC(2026, 0, 1, 10);
    const now = start + 100_000; // 100 s in, 20 000 of 100 000 events copied: 200 events/s
    const phases = [{ id: 'bulk-copy', status: 'in_progress', startedAt: start, metadata: { eventsCopied: 20_000, eventsTotal: 100_000 } }];
    const m = measuredCapacity(phases, now, { lagEvents: 0, cutoverPauseSeconds: 10, bufferFactor: 1 })!;
    expect(m).toMatchObject({ phaseId: 'bulk-copy', measuredRatePerSecond: 200, remaining: { bulkCopySeconds: 400, catchUpSeconds: 0, totalSeconds: 410 } });
    expect(m.estimatedCompletion).toBe(new Date(now + 410_000).toISOString());
    expect(m.remaining).toEqual(planCapacity({ totalEvents: 80_000, copyRatePerSecond: 200, lagEvents: 0, cutoverPauseSeconds: 10, bufferFactor: 1 }));
    expect(measuredCapacity([{ id: 'x', status: 'pending', metadata: {} }], now)).toBeNull();
    expect(measuredCapacity([{ ...phases[0]!, metadata: { eventsCopied: 0, eventsTotal: 5 } }], now)).toBeNull();
  });

  it('formats durations for people', () => {
    expect([0.01, 4.25, 95, 7384, 200_000].map(formatDuration)).toEqual(['0.01 s', '4.3 s', '1 min 35 s', '2 h 3 min', '2 d 7 h']);
  });
});
