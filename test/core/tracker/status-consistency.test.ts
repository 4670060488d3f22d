/**
 * Status that agrees with itself: staleness while paused, the promise renewed by any report, the stale
 * message's arithmetic, and a failure that can only land on a phase that could have run.
 */
import { FileStore } from '../../../lib/adapters/file/file-store';
import { ManualClock } from '../../../lib/core/clock';
import { Tracker } from '../../../lib/core/tracker/service';
import { healthOf } from '../../../lib/core/tracker/views';

const plan = [
  { id: 'prep', name: 'Prep', estimatedDuration: 10 },
  { id: 'copy', name: 'Copy', estimatedDuration: 60, dependencies: ['prep'] },
];

async function setup() {
  const clock = new ManualClock(Date.UTC(2026, 11, 2, 8));
  const t = new Tracker({ store: FileStore.inMemory(), clock });
  await t.initialize('m', { plan });
  return { t, clock };
}

describe('staleness and pauses', () => {
  it('a paused migration does not go stale, and the promise starts again at resume', async () => {
    const { t, clock } = await setup();
    await t.apply('m', { action: 'start_phase', phaseId: 'prep', nextUpdateSeconds: 60 });
    await t.apply('m', { action: 'pause', reason: 'change freeze' });
    clock.advance(30 * 60_000);
    await t.sweep();
    expect(healthOf(await t.get('m'), clock.now()).status).toBe('healthy');
    expect((await t.get('m')).phases[0]!.stale).toBe(false);
    await t.apply('m', { action: 'resume' });
    clock.advance(30_000);
    await t.sweep();
    expect(healthOf(await t.get('m'), clock.now()).status).toBe('healthy');
    clock.advance(31_000 + 1);
    await t.sweep();
    expect(healthOf(await t.get('m'), clock.now()).status).toBe('degraded');
  });

  it('any report from the phase renews its promise (a wrapper reporting every 30 s with --next-update 300 never goes stale)', async () => {
    const { t, clock } = await setup();
    await t.apply('m', { action: 'start_phase', phaseId: 'prep', nextUpdateSeconds: 300 });
    for (let i = 1; i <= 20; i++) {
      clock.advance(30_000);
      await t.apply('m', { action: 'update_phase', phaseId: 'prep', progress: i * 4 });
      await t.sweep();
    }
    const s = await t.get('m');
    expect(s.phases[0]!.stale).toBe(false);
    expect(healthOf(s, clock.now()).status).toBe('healthy');
  });

  it('says how long the reporter is past its promise, not how long it has been quiet', async () => {
    const { t, clock } = await setup();
    await t.apply('m', { action: 'start_phase', phaseId: 'prep', nextUpdateSeconds: 300 });
    clock.advance(420_000);
    await t.sweep();
    const alert = (await t.get('m')).alerts.find((a) => /stale/.test(a.message))!;
    expect(alert.message).toMatch(/quiet for 420s, 120s past the update it promised by 2026-12-02T08:05:00.000Z/);
  });
});

describe('fail_phase', () => {
  it('is refused on a phase that never started while its dependencies are not done (409 naming them), and changes nothing', async () => {
    const { t } = await setup();
    await expect(t.apply('m', { action: 'fail_phase', phaseId: 'copy', error: 'target rejected writes' })).rejects.toMatchObject({ status: 409, message: expect.stringMatching(/cannot fail phase "copy": it has not started and is waiting for "prep" \(pending\)/) });
    const s = await t.get('m');
    expect(s.phases[1]!.status).toBe('pending');
    expect(healthOf(s, Date.UTC(2026, 11, 2, 8)).status).toBe('healthy');
  });

  it('is accepted on a running phase, and on a pending one whose dependencies are done (it failed to start)', async () => {
    const { t } = await setup();
    await t.apply('m', { action: 'start_phase', phaseId: 'prep' });
    await t.apply('m', { action: 'complete_phase', phaseId: 'prep' });
    await t.apply('m', { action: 'fail_phase', phaseId: 'copy', error: 'could not connect to the target' });
    expect((await t.get('m')).phases[1]!.status).toBe('failed');
  });
});
