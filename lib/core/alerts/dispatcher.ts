/**
 * Delivery of the alert outbox: claim the due notices (a lease in the store, so two processes or two Lambda
 * invocations never send the same notice), send one grouped message per destination, book the outcome
 * (delivered notices leave; failed ones wait their backoff). A delivery failure never reaches the update
 * that raised the alert: it is booked, counted, shown on the dashboard and retried.
 */
import type { MigrationState, NoticeDestination } from '../model';
import type { Tracker, TrackerChange, TrackerListener } from '../tracker/service';
import type { AlertRouting } from './config';
import { composeMessage, type AlertMessage } from './message';
import { claimNotices, dueNotices, escalate, escalationDue, recordDeliveries, routeChange, ROUTER_ACTOR, type DeliveryResult } from './routing';

/** A way to reach a destination: SNS topic, Slack webhook, SMTP relay, a structured log line. */
export interface AlertChannel {
  destination: NoticeDestination;
  /** Shown in logs and errors (never a secret). */
  label: string;
  send(m: AlertMessage): Promise<void>;
}

export interface AlertDispatcherOptions {
  tracker: Tracker;
  routing: AlertRouting;
  channels: AlertChannel[];
  /** How long a claim holds (a crashed sender's notices are sent again after it). Default 60 s. */
  leaseMs?: number;
  /** Background problems (a failed bookkeeping write); delivery failures are booked, not logged here. */
  log?: (line: string) => void;
}

export interface DrainResult {
  sent: number;
  failed: number;
}

export class AlertDispatcher {
  private readonly running = new Map<string, Promise<DrainResult>>();
  private readonly again = new Set<string>();

  constructor(private readonly o: AlertDispatcherOptions) {
    const missing = new Set(Object.values(o.routing.rules).flatMap((r) => r.to).filter((d) => !o.channels.some((c) => c.destination === d)));
    if (missing.size) throw new Error(`alert routing names destinations without a channel: ${[...missing].join(', ')}`);
  }

  /** Route every change of `tracker` (queue notices in the same commit) and drain after it; `wait` makes the drain part of the change's listeners. */
  attach(wait: boolean): void {
    const { tracker, routing } = this.o;
    tracker.addDerivation((before, after, now, activity) =>
      routeChange(before, after, now, routing, (e) => activity.push({ at: now, actor: ROUTER_ACTOR, ...e })),
    );
    tracker.addListener(this.listener(wait));
  }

  private listener(wait: boolean): TrackerListener {
    return (change: TrackerChange) => {
      if (!dueNotices(change.after, this.o.tracker.clock.now()).length) return;
      const p = this.drain(change.migrationId).then(
        () => undefined,
        (e: unknown) => this.o.log?.(`alert delivery for ${change.migrationId}: ${(e as Error).message}`),
      );
      return wait ? p : undefined;
    };
  }

  /** Send what is due for one migration. One drain per migration at a time in this process; a request during one runs it again after. */
  drain(migrationId: string): Promise<DrainResult> {
    const cur = this.running.get(migrationId);
    if (cur) {
      this.again.add(migrationId);
      return cur;
    }
    const p = (async () => {
      const total = { sent: 0, failed: 0 };
      do {
        this.again.delete(migrationId);
        const r = await this.drainOnce(migrationId);
        total.sent += r.sent;
        total.failed += r.failed;
      } while (this.again.has(migrationId));
      return total;
    })().finally(() => this.running.delete(migrationId));
    this.running.set(migrationId, p);
    return p;
  }

  private async drainOnce(migrationId: string): Promise<DrainResult> {
    const { tracker, routing } = this.o;
    const state = await tracker.get(migrationId);
    if (!dueNotices(state, tracker.clock.now()).length) return { sent: 0, failed: 0 };
    let claimed: MigrationState | undefined;
    const lease = this.o.leaseMs ?? 60_000;
    await tracker.change(migrationId, 'alerts.claim', (s, now) => {
      const taken = claimNotices(s, dueNotices(s, now).map((o) => o.id), now, lease);
      claimed = { ...s, notifications: s.notifications && { ...s.notifications, outbox: taken.map((o) => ({ ...o })) } };
      return { activity: [] };
    }, ROUTER_ACTOR);
    const outbox = claimed?.notifications?.outbox ?? [];
    if (!claimed || !outbox.length) return { sent: 0, failed: 0 };
    const results: DeliveryResult[] = [];
    const now = tracker.clock.now();
    for (const destination of [...new Set(outbox.map((o) => o.destination))]) {
      const notices = outbox.filter((o) => o.destination === destination);
      const m = composeMessage(claimed, destination, notices, routing, now);
      const channels = this.o.channels.filter((c) => c.destination === destination);
      const errors: string[] = [];
      for (const c of channels) {
        try {
          await c.send(m);
        } catch (e) {
          errors.push(`${c.label}: ${(e as Error).message}`);
        }
      }
      results.push({ destination, noticeIds: m.noticeIds, ok: !errors.length && channels.length > 0, subject: m.subject, ...(errors.length || !channels.length ? { error: errors.join('; ') || `no channel for ${destination}` } : {}) });
    }
    await tracker.change(migrationId, 'alerts.delivered', (s, at) => ({ activity: recordDeliveries(s, results, at, routing) }), ROUTER_ACTOR);
    return { sent: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length };
  }

  /** Resolves once no drain of this process is running (before the store closes). */
  async settled(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }

  /** The periodic pass (local timer, Lambda schedule): reminders for unacknowledged alerts, then whatever is due. */
  async sweep(): Promise<DrainResult> {
    const { tracker, routing } = this.o;
    const total = { sent: 0, failed: 0 };
    const problems: string[] = [];
    for (const id of await tracker.list()) {
      try {
        const s = await tracker.get(id);
        if (escalationDue(s, tracker.clock.now(), routing)) await tracker.change(id, 'alerts.escalate', (st, now) => (escalate(st, now, routing), { activity: [] }), ROUTER_ACTOR);
        const r = await this.drain(id);
        total.sent += r.sent;
        total.failed += r.failed;
      } catch (e) {
        problems.push(`${id}: ${(e as Error).message}`);
      }
    }
    if (problems.length) throw new Error(`alert sweep: ${problems.join('; ')}`);
    return total;
  }
}
