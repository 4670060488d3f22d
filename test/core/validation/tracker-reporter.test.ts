import { TrackerClient } from '../../../lib/adapters/http/tracker-client';
import { runConfiguredValidation } from '../../../lib/compose/validation-runtime';
import { validateConfig } from '../../../lib/core/validation/config';
import { freePort } from '../../support/ports';
import { startTrackerServer, type TrackerServer } from '../../support/tracker-server';

let t: TrackerServer;
beforeAll(async () => {
  t = await startTrackerServer();
});
afterAll(() => t?.stop());

const client = (migrationId: string) => new TrackerClient({ url: t.url, token: 'tok', migrationId, actor: 'validation-test' });

/** Three checks against a closed and an open port: two pass, one fails. */
async function checks(failing: boolean) {
  const closed = await freePort();
  const open = Number(new URL(t.url).port);
  return validateConfig({
    checks: [
      { name: 'tracker-port', kind: 'tcp', host: '127.0.0.1', port: open },
      { name: 'tracker-health', kind: 'http', url: `${t.url}/health` },
      { name: 'db-port', kind: 'tcp', host: '127.0.0.1', port: failing ? closed : open },
    ],
  });
}

describe('posting a validation run to the tracker (real tracker API, embedded store)', () => {
  it('starts the validation phase, posts progress per check, records the run; a fail raises an alert', async () => {
    await client('m1').initialize({
      plan: [
        { id: 'database', name: 'Database', estimatedDuration: 60 },
        { id: 'validation', name: 'Validation', estimatedDuration: 30 },
      ],
    });
    const report = await runConfiguredValidation(await checks(true), { tracker: { client: client('m1'), url: t.url, migrationId: 'm1' } });
    expect(report.verdict).toBe('fail');
    expect(report.tracker).toEqual({ url: t.url, migrationId: 'm1', phase: 'validation', phaseStatus: 'started; failed (verdict fail)', progressUpdates: 3, recorded: true, problems: [] });
    const s = await t.tracker.get('m1');
    const phase = s.phases.find((p) => p.id === 'validation')!;
    expect(phase).toMatchObject({ status: 'failed', progress: 100, runId: report.runId, failedBy: { kind: 'validation', gate: false, runId: report.runId } });
    expect(s.lastValidation).toMatchObject({ verdict: 'fail', runId: report.runId, checks: [{ name: 'tracker-port', passed: true }, { name: 'tracker-health', passed: true }, { name: 'db-port', passed: false, kind: 'tcp' }] });
    expect(s.alerts.some((a) => a.severity === 'error' && a.message.startsWith('Validation failed: db-port'))).toBe(true);
    const activity = await t.tracker.store.readActivity('m1');
    expect(activity.filter((a) => a.action === 'phase.progress').map((a) => a.details?.['progress'])).toEqual([33.33, 66.67, 100]);
  });

  it('a phase blocked by its dependencies is noted, the run still recorded', async () => {
    await client('m2').initialize({}); // the default plan: validation depends on earlier phases
    const report = await runConfiguredValidation(await checks(false), { tracker: { client: client('m2'), url: t.url, migrationId: 'm2' } });
    expect(report.verdict).toBe('pass');
    expect(report.tracker).toMatchObject({ phaseStatus: expect.stringMatching(/^not started \(dependency_blocked: /), progressUpdates: 0, recorded: true, problems: [] });
    const s = await t.tracker.get('m2');
    expect(s.phases.find((p) => p.id === 'validation')!.status).toBe('pending');
    expect(s.lastValidation).toMatchObject({ verdict: 'pass' });
    expect(s.alerts.filter((a) => a.message.startsWith('Validation failed'))).toHaveLength(0);
  });

  it('completes the phase on pass (completePhaseOnPass, the default)', async () => {
    await client('m3').initialize({ plan: [{ id: 'validation', name: 'Validation', estimatedDuration: 30 }] });
    const cfg = await checks(false);
    cfg.tracker.completePhaseOnPass = true;
    const report = await runConfiguredValidation(cfg, { tracker: { client: client('m3'), url: t.url, migrationId: 'm3' } });
    expect(report.tracker!.phaseStatus).toBe('started; completed (verdict pass)');
    expect((await t.tracker.get('m3')).phases[0]!.status).toBe('completed');
  });

  it('an unknown migration or an unreachable tracker never fails the run', async () => {
    const r1 = await runConfiguredValidation(await checks(false), { tracker: { client: client('nope'), url: t.url, migrationId: 'nope' } });
    expect(r1.verdict).toBe('pass');
    expect(r1.tracker!.recorded).toBe(false);
    expect(r1.tracker!.problems.join(' ')).toMatch(/unknown migration "nope"/);
    const port = await freePort();
    const down = new TrackerClient({ url: `http://127.0.0.1:${port}`, retries: 0 });
    const r2 = await runConfiguredValidation(await checks(false), { tracker: { client: down, url: `http://127.0.0.1:${port}` } });
    expect(r2.verdict).toBe('pass');
    expect(r2.tracker).toMatchObject({ phaseStatus: 'unknown (tracker not reachable)', recorded: false });
    expect(r2.tracker!.problems[0]).toMatch(/cannot reach the tracker API/);
  });
});
