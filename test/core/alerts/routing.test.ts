/**
 * Alert routing on a tracker with an injected clock (no sleeps): severity rules, dedup then count, burst
 * grouping, digest, re-notify of unacknowledged critical alerts, ack and cleared conditions (resolved notices),
 * retries with backoff, and an outbox that survives a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { AlertDispatcher, type AlertChannel } from '../../../lib/core/alerts/dispatcher';
import { resolveRouting, type AlertRoutingInput } from '../../../lib/core/alerts/config';
import type { AlertMessage } from '../../../lib/core/alerts/message';
import { ManualClock } from '../../../lib/core/clock';
import type { NoticeDestination } from '../../../lib/core/model';
import type { ProgressStore } from '../../../lib/core/store';
import { Tracker } from '../../../lib/core/tracker/service';

const S = 1000;
const PLAN = [
  { id: 'copy', name: 'Copy', dependencies: [], estimatedDuration: 10, subTasks: [] },
  { id: 'verify', name: 'Verify', dependencies: [], estimatedDuration: 10, subTasks: [] },
];

/** A channel that keeps what it was given and fails when told to. */
class Inbox implements AlertChannel {
  readonly messages: AlertMessage[] = [];
  failures = 0;
  constructor(readonly destination: NoticeDestination, readonly label = destination) {}
  async send(m: AlertMessage) {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('503 Service Unavailable');
    }
    this.messages.push(m);
  }
}

async function setup(o: { store?: ProgressStore; clock?: ManualClock; routing?: AlertRoutingInput } = {}) {
  const clock = o.clock ?? new ManualClock();
  const tracker = new Tracker({ store: o.store ?? FileStore.inMemory(), clock });
  const inbox = { email: new Inbox('email'), pager: new Inbox('pager'), slack: new Inbox('slack') };
  const routing = resolveRouting({ groupSeconds: 20, dedupSeconds: 900, digestSeconds: 600, renotifySeconds: 1800, links: { dashboardUrl: 'https://mm.example/admin/migration?migration={migration}', runbookUrl: 'https://wiki.example/runbooks/migration' }, ...o.routing }, ['email', 'pager', 'slack']);
  const dispatcher = new AlertDispatcher({ tracker, routing, channels: Object.values(inbox) });
  dispatcher.attach(true);
  if (!(await tracker.exists('m'))) await tracker.initialize('m', { name: 'Orders DB', plan: PLAN });
  const alert = (severity: 'info' | 'warning' | 'error' | 'critical', message: string) => tracker.apply('m', { action: 'create_alert', severity, message }, { actor: 'job' });
  return { clock, tracker, inbox, dispatcher, alert, routing };
}

describe('alert routing', () => {
  it('routes by severity: critical → e-mail and pager, error → Slack, info → the dashboard only', async () => {
    const { clock, inbox, dispatcher, alert } = await setup();
    await alert('critical', 'target DB replica lag 900s');
    await alert('error', 'bulk copy of table orders failed');
    await alert('info', 'cache warmed');
    expect(await dispatcher.sweep()).toEqual({ sent: 0, failed: 0 }); // still in the burst window
    clock.advance(20 * S);
    expect(await dispatcher.sweep()).toEqual({ sent: 3, failed: 0 });
    expect(inbox.email.messages).toHaveLength(1);
    expect(inbox.pager.messages).toHaveLength(1);
    expect(inbox.slack.messages).toHaveLength(1);
    const m = inbox.email.messages[0]!;
    expect(m.subject).toBe('[CRITICAL] Orders DB: target DB replica lag 900s');
    expect(m.attributes).toEqual({ severity: 'critical', migration: 'm', phase: 'none', kind: 'alert', destination: 'email' });
    expect(m.text).toContain('Runbook: https://wiki.example/runbooks/migration');
    expect(m.text).toContain('Dashboard: https://mm.example/admin/migration?migration=m');
    expect(inbox.slack.messages[0]!.subject).toBe('[ERROR] Orders DB: bulk copy of table orders failed');
    expect(await dispatcher.sweep()).toEqual({ sent: 0, failed: 0 }); // exactly once
  });

  it('a burst of 50 identical alerts yields one grouped message with the count; later repeats inside the window only count', async () => {
    const { clock, tracker, inbox, dispatcher, alert } = await setup();
    await Promise.all(Array.from({ length: 50 }, (_, i) => alert('critical', `replica lag ${900 + i}s`)));
    clock.advance(20 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages).toHaveLength(1);
    expect(inbox.email.messages[0]!.subject).toMatch(/^\[CRITICAL\] Orders DB: replica lag \d+s \(x50\)$/);
    expect(inbox.email.messages[0]!.text).toContain('Raised 50 times');
    expect(inbox.email.messages[0]!.alertCount).toBe(50);
    await alert('critical', 'replica lag 990s');
    clock.advance(60 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages).toHaveLength(1);
    expect((await tracker.get('m')).notifications!.incidents[0]!.count).toBe(51);
    expect((await tracker.get('m')).alerts).toHaveLength(51); // every alert is still on the dashboard
  });

  it('groups different alerts of a burst into one message per destination', async () => {
    const { clock, inbox, dispatcher, alert } = await setup();
    await alert('critical', 'replica lag 900s');
    clock.advance(5 * S);
    await alert('critical', 'target rejected writes');
    await alert('critical', 'disk 95% full on target');
    clock.advance(20 * S);
    await dispatcher.sweep();
    expect(inbox.pager.messages).toHaveLength(1);
    expect(inbox.pager.messages[0]!.subject).toBe('[CRITICAL] Orders DB: 3 alerts (3 in all)');
    expect(inbox.pager.messages[0]!.text.match(/^CRITICAL: /gm)).toHaveLength(3);
  });

  it('collects warnings into a Slack digest', async () => {
    const { clock, inbox, dispatcher, alert } = await setup();
    await alert('warning', 'replica lag 45s');
    clock.advance(120 * S);
    await alert('warning', 'slow batch 17');
    clock.advance(120 * S);
    await dispatcher.sweep();
    expect(inbox.slack.messages).toHaveLength(0);
    clock.advance(400 * S);
    await dispatcher.sweep();
    expect(inbox.slack.messages).toHaveLength(1);
    expect(inbox.slack.messages[0]!.subject).toBe('[WARNING] Orders DB: 2 alerts (2 in all)');
  });

  it('re-notifies an unacknowledged critical alert after its interval; acknowledging stops it and sends a resolved notice', async () => {
    const { clock, tracker, inbox, dispatcher, alert } = await setup();
    const a = (await alert('critical', 'replica lag 900s')).result['alert'] as { id: string };
    clock.advance(20 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages).toHaveLength(1);
    clock.advance(1700 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages).toHaveLength(1); // interval not over
    clock.advance(100 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages).toHaveLength(2);
    expect(inbox.email.messages[1]!.subject).toBe('[CRITICAL, UNACKNOWLEDGED] Orders DB: replica lag 900s');
    expect(inbox.pager.messages).toHaveLength(2);
    await tracker.apply('m', { action: 'acknowledge_alert', alertId: a.id }, { actor: 'alice' });
    clock.advance(20 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages.map((m) => m.kind)).toEqual(['alert', 'reminder', 'resolved']);
    expect(inbox.email.messages[2]!.subject).toBe('[RESOLVED] Orders DB: replica lag 900s');
    expect(inbox.email.messages[2]!.text).toContain('acknowledged by alice');
    clock.advance(3 * 1800 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages).toHaveLength(3);
    expect(inbox.pager.messages).toHaveLength(3);
  });

  it('an alert acknowledged before it was sent is never sent', async () => {
    const { clock, tracker, inbox, dispatcher, alert } = await setup();
    const a = (await alert('critical', 'false alarm')).result['alert'] as { id: string };
    await tracker.apply('m', { action: 'acknowledge_alert', alertId: a.id }, { actor: 'alice' });
    clock.advance(3600 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages).toHaveLength(0);
  });

  it('sends a resolved notice when the condition clears (a failed phase is retried)', async () => {
    const { clock, tracker, inbox, dispatcher } = await setup();
    await tracker.apply('m', { action: 'start_phase', phaseId: 'copy' });
    await tracker.apply('m', { action: 'fail_phase', phaseId: 'copy', error: 'target rejected writes' });
    clock.advance(20 * S);
    await dispatcher.sweep();
    // a failed phase leaves the migration unhealthy: critical, to on-call e-mail and the pager (as its alarm pages)
    expect(inbox.email.messages.map((m) => m.subject)).toEqual(['[CRITICAL] Orders DB: Phase "Copy" failed: target rejected writes']);
    expect(inbox.pager.messages.map((m) => m.kind)).toEqual(['alert']);
    expect(inbox.email.messages[0]!.attributes.phase).toBe('copy');
    await tracker.apply('m', { action: 'start_phase', phaseId: 'copy' });
    clock.advance(20 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages.map((m) => m.kind)).toEqual(['alert', 'resolved']);
    expect(inbox.email.messages[1]!.text).toContain('RESOLVED: condition cleared');
    // cleared, so no reminder follows while it stays unacknowledged
    clock.advance(3600 * S);
    await dispatcher.sweep();
    expect(inbox.email.messages.map((m) => m.kind)).toEqual(['alert', 'resolved']);
  });

  it('retries a failed delivery with backoff, never failing the update, and shows the failure', async () => {
    const { clock, tracker, inbox, dispatcher, alert } = await setup({ routing: { retry: { baseSeconds: 30, maxSeconds: 600, maxAttempts: 5 } } });
    inbox.email.failures = 2;
    const r = await alert('critical', 'replica lag 900s');
    expect(r.result['alert']).toBeDefined();
    clock.advance(20 * S);
    expect(await dispatcher.sweep()).toEqual({ sent: 1, failed: 1 }); // pager sent, e-mail failed
    let s = await tracker.get('m');
    expect(s.notifications!.failed).toEqual({ email: 1 });
    expect(s.notifications!.lastFailure).toMatchObject({ destination: 'email', error: 'email: 503 Service Unavailable' });
    expect(s.notifications!.outbox).toHaveLength(1);
    expect(s.notifications!.outbox[0]).toMatchObject({ attempts: 1, nextAttemptAt: clock.now() + 30 * S });
    const acts = await tracker.store.readActivity('m');
    expect(acts.find((e) => e.action === 'alert.notify_failed')?.message).toMatch(/Could not send to email \(attempt 1\): email: 503 Service Unavailable; retrying at /);
    clock.advance(29 * S);
    expect(await dispatcher.sweep()).toEqual({ sent: 0, failed: 0 }); // backoff
    clock.advance(1 * S);
    expect(await dispatcher.sweep()).toEqual({ sent: 0, failed: 1 }); // second failure: next in 60 s
    clock.advance(60 * S);
    expect(await dispatcher.sweep()).toEqual({ sent: 1, failed: 0 });
    s = await tracker.get('m');
    expect(inbox.email.messages).toHaveLength(1);
    expect(s.notifications).toMatchObject({ outbox: [], failed: { email: 2 }, delivered: { email: 1, pager: 1 }, dropped: 0 });
  });

  it('gives a notice up after the last attempt and counts it as dropped', async () => {
    const { clock, tracker, inbox, dispatcher, alert } = await setup({ routing: { retry: { baseSeconds: 1, maxSeconds: 1, maxAttempts: 2 } } });
    inbox.slack.failures = 10;
    await alert('error', 'copy failed');
    clock.advance(20 * S);
    await dispatcher.sweep();
    clock.advance(1 * S);
    await dispatcher.sweep();
    expect((await tracker.get('m')).notifications).toMatchObject({ outbox: [], dropped: 1, failed: { slack: 2 } });
  });

  it('keeps the outbox in the store: a notice queued before a restart is sent after it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alert-outbox-'));
    try {
      const clock = new ManualClock();
      const first = await setup({ store: await FileStore.open(dir), clock });
      await first.alert('critical', 'replica lag 900s');
      await first.tracker.store.close(); // process ends inside the burst window: nothing sent
      expect(first.inbox.email.messages).toHaveLength(0);
      clock.advance(20 * S);
      const second = await setup({ store: await FileStore.open(dir), clock });
      await second.dispatcher.sweep();
      expect(second.inbox.email.messages.map((m) => m.subject)).toEqual(['[CRITICAL] Orders DB: replica lag 900s']);
      await second.tracker.store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two dispatchers on one store never send the same notice twice (claims)', async () => {
    const store = FileStore.inMemory();
    const clock = new ManualClock();
    const a = await setup({ store, clock });
    const b = await setup({ store, clock });
    await a.alert('critical', 'replica lag 900s');
    clock.advance(20 * S);
    await Promise.all([a.dispatcher.sweep(), b.dispatcher.sweep()]);
    expect(a.inbox.email.messages.length + b.inbox.email.messages.length).toBe(1);
  });

  it('refuses routing that names a destination without a channel', () => {
    const tracker = new Tracker({ store: FileStore.inMemory() });
    const routing = resolveRouting({ rules: { critical: { to: ['email'] } } }, ['email']);
    expect(() => new AlertDispatcher({ tracker, routing, channels: [] })).toThrow(/destinations without a channel: email/);
    // resolving against the channels a runtime has drops the destination instead
    expect(resolveRouting({ rules: { critical: { to: ['email', 'slack'] } } }, ['slack']).rules.critical.to).toEqual(['slack']);
  });
});
