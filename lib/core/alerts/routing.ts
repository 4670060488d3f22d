/**
 * The alert router's rules, as pure functions over a migration document (they run inside the tracker's commit,
 * so the outbox changes in the same write as the alert that caused it):
 * - `routeChange`: new alerts open or count an incident (dedup by key), queue notices per the severity's rule;
 *   an acknowledgement or a cleared condition closes the incident, drops what was not sent yet and queues a
 *   resolved notice to whoever was told;
 * - `escalate`: unacknowledged incidents of `renotify` rules get a reminder every `renotifySeconds`;
 * - `dueNotices` / `claimNotices` / `recordDeliveries`: the dispatcher's bookkeeping (lease, retry with backoff).
 */
import type { ActivityEntry, AlertIncident, AlertNotice, MigrationState, NoticeDestination, NotificationState } from '../model';
import type { AlertRouting } from './config';

export const ROUTER_ACTOR = 'alert-router';
/** Bounds that keep the document small (DynamoDB items ≤ 400 KB). */
export const NOTIFY_LIMITS = { incidents: 100, outbox: 300, alertIdsPerIncident: 20, errorChars: 300 } as const;

export function notificationsOf(s: MigrationState): NotificationState {
  s.notifications ??= { seq: 0, incidents: [], outbox: [], delivered: {}, failed: {}, dropped: 0 };
  return s.notifications;
}

/** Severity, phase and message with digit runs masked: "replica lag 900s" and "replica lag 905s" are one alert. */
export function alertKey(a: { severity: string; phaseId?: string; message: string }): string {
  return `${a.severity}|${a.phaseId ?? '-'}|${a.message.trim().toLowerCase().replace(/\d+(\.\d+)?/g, '#').slice(0, 300)}`;
}

type Log = (e: Omit<ActivityEntry, 'at' | 'actor'>) => void;

/** Apply the routing rules to one change (before → after), in place on `after`. */
export function routeChange(before: MigrationState | null, after: MigrationState, now: number, cfg: AlertRouting, log: Log = () => undefined): void {
  const seen = new Set((before?.alerts ?? []).map((a) => a.id));
  const fresh = after.alerts.filter((a) => !seen.has(a.id));
  const acked = after.alerts.filter((a) => a.acknowledged && before?.alerts.some((b) => b.id === a.id && !b.acknowledged));
  if (!fresh.length && !acked.length && !after.notifications?.incidents.some((i) => i.state === 'open' && i.condition)) return;
  const n = notificationsOf(after);

  for (const a of fresh) {
    const rule = cfg.rules[a.severity];
    if (!rule.to.length) continue; // info by default: the dashboard only
    const key = alertKey(a);
    let inc = n.incidents.find((i) => i.key === key && i.state === 'open');
    const inWindow = inc && (inc.lastNotifiedAt === undefined || now - inc.lastNotifiedAt < cfg.dedupSeconds * 1000);
    if (inc) {
      inc.count += 1;
      inc.lastAt = now;
      inc.message = a.message;
      inc.alertIds.push(a.id);
      if (inc.alertIds.length > NOTIFY_LIMITS.alertIdsPerIncident) inc.alertIds.splice(0, inc.alertIds.length - NOTIFY_LIMITS.alertIdsPerIncident);
      if (inWindow) continue; // notified once already: counted
    } else {
      inc = { key, severity: a.severity, message: a.message, firstAt: now, lastAt: now, count: 1, alertIds: [a.id], state: 'open', delivered: [], reminders: 0 };
      if (a.phaseId) inc.phaseId = a.phaseId;
      if (a.condition) inc.condition = a.condition;
      n.incidents.push(inc);
    }
    const delay = (rule.mode === 'digest' ? cfg.digestSeconds : cfg.groupSeconds) * 1000;
    for (const d of rule.to) enqueue(n, inc, d, 'alert', rule.mode === 'digest' ? digestDue(n, d, now, delay) : now + delay, now);
    inc.lastNotifiedAt = now;
  }

  for (const a of acked) {
    const inc = n.incidents.find((i) => i.state === 'open' && i.alertIds.includes(a.id));
    if (inc) close(n, inc, 'acknowledged', `acknowledged by ${a.acknowledgedBy ?? 'someone'}`, now, cfg, log);
  }
  for (const inc of n.incidents) {
    if (inc.state === 'open' && inc.condition && conditionCleared(after, inc)) close(n, inc, 'resolved', 'condition cleared', now, cfg, log);
  }
  trim(n);
}

function conditionCleared(s: MigrationState, inc: AlertIncident): boolean {
  const p = inc.phaseId ? s.phases.find((x) => x.id === inc.phaseId) : undefined;
  if (inc.condition === 'phase_failed') return !!p && p.status !== 'failed';
  if (inc.condition === 'phase_stale') return !!p && !p.stale;
  if (inc.condition === 'validation_failed') return s.lastValidation?.verdict === 'pass';
  return false;
}

/** Acknowledged or cleared: no more reminders anywhere; what was not sent yet is dropped; whoever was told hears it is over. */
function close(n: NotificationState, inc: AlertIncident, state: 'acknowledged' | 'resolved', by: string, now: number, cfg: AlertRouting, log: Log) {
  inc.state = state;
  inc.closedAt = now;
  inc.closedBy = by;
  n.outbox = n.outbox.filter((o) => !(o.incidentKey === inc.key && o.kind !== 'resolved'));
  for (const d of inc.delivered) enqueue(n, inc, d, 'resolved', now + cfg.groupSeconds * 1000, now);
  log({ action: 'alert.resolve', message: `${inc.severity.toUpperCase()} "${inc.message}" ${state} (${by})${inc.delivered.length ? `: resolved notice to ${inc.delivered.join(', ')}` : ''}`, ...(inc.phaseId ? { phaseId: inc.phaseId } : {}), details: { incident: inc.key, count: inc.count } });
}

/** Digest notices of one destination share the next digest slot: one message per interval. */
function digestDue(n: NotificationState, d: NoticeDestination, now: number, delay: number): number {
  const pending = n.outbox.find((o) => o.destination === d && o.kind === 'alert' && o.dueAt > now && o.attempts === 0);
  return pending ? pending.dueAt : now + delay;
}

function enqueue(n: NotificationState, inc: AlertIncident, destination: NoticeDestination, kind: AlertNotice['kind'], dueAt: number, now: number) {
  if (n.outbox.some((o) => o.incidentKey === inc.key && o.destination === destination && o.kind === kind && o.attempts === 0 && !o.claimedUntil)) return;
  n.seq += 1;
  n.outbox.push({ id: `N${n.seq}`, destination, kind, incidentKey: inc.key, createdAt: now, dueAt, attempts: 0, nextAttemptAt: dueAt });
}

function trim(n: NotificationState) {
  if (n.outbox.length > NOTIFY_LIMITS.outbox) {
    const drop = n.outbox.length - NOTIFY_LIMITS.outbox;
    n.outbox.splice(0, drop);
    n.dropped += drop;
  }
  if (n.incidents.length > NOTIFY_LIMITS.incidents) {
    const waiting = new Set(n.outbox.map((o) => o.incidentKey));
    const closed = n.incidents.filter((i) => i.state !== 'open' && !waiting.has(i.key)).sort((a, b) => (a.closedAt ?? 0) - (b.closedAt ?? 0));
    const victims = new Set(closed.slice(0, n.incidents.length - NOTIFY_LIMITS.incidents));
    n.incidents = n.incidents.filter((i) => !victims.has(i));
  }
}

/** Reminders for unacknowledged incidents of `renotify` rules whose interval passed. True when something was queued. */
export function escalate(s: MigrationState, now: number, cfg: AlertRouting): boolean {
  const n = s.notifications;
  if (!n) return false;
  let queued = false;
  for (const inc of n.incidents) {
    if (inc.state !== 'open' || !cfg.rules[inc.severity].renotify || !inc.delivered.length) continue;
    if (inc.lastNotifiedAt === undefined || now - inc.lastNotifiedAt < cfg.renotifySeconds * 1000) continue;
    if (n.outbox.some((o) => o.incidentKey === inc.key && o.kind !== 'resolved')) continue;
    for (const d of inc.delivered) enqueue(n, inc, d, 'reminder', now, now);
    inc.reminders += 1;
    inc.lastNotifiedAt = now;
    queued = true;
  }
  return queued;
}

/** Whether `escalate` would queue anything now (checked on a read, before paying for a write). */
export function escalationDue(s: MigrationState, now: number, cfg: AlertRouting): boolean {
  const copy: MigrationState = { ...s, notifications: s.notifications && { ...s.notifications, incidents: s.notifications.incidents.map((i) => ({ ...i })), outbox: [...s.notifications.outbox] } };
  return escalate(copy, now, cfg);
}

/** Notices that may be sent now: due, past their backoff, not claimed by another dispatcher. */
export function dueNotices(s: MigrationState, now: number): AlertNotice[] {
  return (s.notifications?.outbox ?? []).filter((o) => o.dueAt <= now && o.nextAttemptAt <= now && (o.claimedUntil === undefined || o.claimedUntil <= now));
}

/** Take a lease on notices (ids still due); returns the ones taken. */
export function claimNotices(s: MigrationState, ids: readonly string[], now: number, leaseMs: number): AlertNotice[] {
  const due = new Set(dueNotices(s, now).map((o) => o.id));
  const taken = (s.notifications?.outbox ?? []).filter((o) => ids.includes(o.id) && due.has(o.id));
  for (const o of taken) o.claimedUntil = now + leaseMs;
  return taken;
}

export interface DeliveryResult {
  destination: NoticeDestination;
  noticeIds: string[];
  ok: boolean;
  error?: string;
  /** What was sent (for the activity log). */
  subject: string;
}

/** Pause before the next attempt after `attempts` failures: base · 2^(attempts-1), capped. */
export function backoffMs(attempts: number, cfg: AlertRouting): number {
  return Math.min(cfg.retry.maxSeconds, cfg.retry.baseSeconds * 2 ** Math.max(0, attempts - 1)) * 1000;
}

/** Book the outcome of sending: delivered notices leave the outbox; failed ones wait their backoff, or are dropped after the last attempt. */
export function recordDeliveries(s: MigrationState, results: readonly DeliveryResult[], now: number, cfg: AlertRouting): Array<Omit<ActivityEntry, 'at' | 'actor'>> {
  const n = notificationsOf(s);
  const activity: Array<Omit<ActivityEntry, 'at' | 'actor'>> = [];
  for (const r of results) {
    const ids = new Set(r.noticeIds);
    const notices = n.outbox.filter((o) => ids.has(o.id));
    if (r.ok) {
      n.outbox = n.outbox.filter((o) => !ids.has(o.id));
      n.delivered[r.destination] = (n.delivered[r.destination] ?? 0) + 1;
      for (const o of notices) {
        const inc = n.incidents.find((i) => i.key === o.incidentKey);
        if (inc && o.kind !== 'resolved' && !inc.delivered.includes(r.destination)) inc.delivered.push(r.destination);
        if (inc && o.kind !== 'resolved') inc.lastNotifiedAt = Math.max(inc.lastNotifiedAt ?? 0, now);
      }
      activity.push({ action: 'alert.notify', message: `Sent to ${r.destination}: ${r.subject}`, details: { destination: r.destination, notices: r.noticeIds } });
      continue;
    }
    const error = (r.error ?? 'unknown error').slice(0, NOTIFY_LIMITS.errorChars);
    n.failed[r.destination] = (n.failed[r.destination] ?? 0) + 1;
    n.lastFailure = { at: now, destination: r.destination, error };
    let gaveUp = 0;
    for (const o of notices) {
      o.attempts += 1;
      o.lastError = error;
      delete o.claimedUntil;
      o.nextAttemptAt = now + backoffMs(o.attempts, cfg);
      if (o.attempts >= cfg.retry.maxAttempts) gaveUp += 1;
    }
    if (gaveUp) {
      n.outbox = n.outbox.filter((o) => !(ids.has(o.id) && o.attempts >= cfg.retry.maxAttempts));
      n.dropped += gaveUp;
    }
    const next = notices.find((o) => o.attempts < cfg.retry.maxAttempts);
    activity.push({
      action: 'alert.notify_failed',
      message: `Could not send to ${r.destination} (attempt ${notices[0]?.attempts ?? 1}): ${error}${next ? `; retrying at ${new Date(next.nextAttemptAt).toISOString()}` : '; given up'}`,
      details: { destination: r.destination, notices: r.noticeIds, error },
    });
  }
  return activity;
}
