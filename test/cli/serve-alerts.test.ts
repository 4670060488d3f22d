/**
 * Local mode routes alerts to real stand-ins: a Slack incoming-webhook receiver (local HTTP server) and an SMTP
 * sink (smtp-server). Each gets exactly the messages its rules route; a failed Slack delivery is retried and
 * shows on the dashboard API meanwhile; the audit trail names the token's owner.
 */
import { FileStore } from '../../lib/adapters/file/file-store';
import { startLocalServer, type LocalServer } from '../../lib/cli/commands/serve';
import { alertsFromEnv } from '../../lib/compose/alerts';
import { startCapture, type CaptureServer } from '../support/http-capture';
import { decodeHeader, parseMime, startSmtp, type RunningSmtp } from '../support/smtp';

const ALICE = 'alice-token-0123456789abcdef';
let smtp: RunningSmtp;
let slack: CaptureServer;
let srv: LocalServer;

/** Poll until `check` passes (deliveries are in the background); fails with the last error after `ms`. */
async function until(check: () => void | Promise<void>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(srv.url + path, { method, headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
}

beforeAll(async () => {
  [smtp, slack] = await Promise.all([startSmtp(), startCapture()]);
  const alerts = alertsFromEnv(
    {
      ALERT_SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/LOCAL`,
      ALERT_EMAIL_TO: 'oncall@example.com',
      ALERT_EMAIL_FROM: 'migration-monitor@example.com',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      ALERT_DASHBOARD_URL: 'http://127.0.0.1:8080/admin/migration?migration={migration}',
      ALERT_ROUTING: JSON.stringify({ groupSeconds: 0, retry: { baseSeconds: 1, maxSeconds: 1, maxAttempts: 5 } }),
    },
    'test',
  );
  expect(alerts.describe()).toEqual([
    'email: smtp 127.0.0.1:' + smtp.port + ' -> oncall@example.com ← critical',
    'pager: not configured',
    'slack: slack webhook ← error, warning (digest)',
  ]);
  srv = await startLocalServer({ port: 0, store: FileStore.inMemory(), tokens: { alice: ALICE }, alerts, sweepMs: 100 });
});
afterAll(async () => {
  await srv?.close();
  await Promise.all([smtp?.stop(), slack?.stop()]);
});

describe('local mode alert routing', () => {
  it('e-mails a critical alert once over SMTP and posts an error alert to Slack, each to exactly its destination', async () => {
    for (let i = 0; i < 5; i++) expect((await api('POST', '/api/migration/progress', { action: 'create_alert', severity: 'critical', message: `target DB replica lag ${900 + i}s` })).status).toBe(200);
    expect((await api('POST', '/api/migration/progress', { action: 'create_alert', severity: 'error', message: 'bulk copy of table orders failed' })).status).toBe(200);
    expect((await api('POST', '/api/migration/progress', { action: 'create_alert', severity: 'info', message: 'cache warmed' })).status).toBe(200);
    await until(() => expect(smtp.messages).toHaveLength(1));
    await until(() => expect(slack.requests).toHaveLength(1));
    const mail = parseMime(smtp.messages[0]!.raw);
    expect(smtp.messages[0]!.to).toEqual(['oncall@example.com']);
    expect(decodeHeader(mail.headers['subject']!)).toBe('[CRITICAL] Default migration: target DB replica lag 900s');
    const text = mail.parts.find((p) => /text\/plain/.test(p.headers['content-type'] ?? ''))!.body;
    expect(text).toContain('Dashboard: http://127.0.0.1:8080/admin/migration?migration=default');
    expect(JSON.parse(slack.requests[0]!.body).text).toBe('[ERROR] Default migration: bulk copy of table orders failed');
    const d = await api('GET', '/api/migration/dashboard');
    expect(d.json.notifications).toMatchObject({ pending: 0, delivered: { email: 1, slack: 1 }, failed: {} });
    expect(d.json.notifications.openIncidents.find((i: any) => i.severity === 'critical')).toMatchObject({ count: 5, delivered: ['email'] });
    const acts = (await api('GET', '/api/migration/activity')).json.entries as Array<{ actor: string; action: string }>;
    expect(acts.filter((a) => a.action === 'alert.create').every((a) => a.actor === 'alice')).toBe(true);
  });

  it('retries a Slack delivery that failed, shows the failure on the dashboard meanwhile, and never fails the update', async () => {
    slack.queue({ status: 500, body: 'internal_error' });
    const before = slack.requests.length;
    expect((await api('POST', '/api/migration/progress', { action: 'create_alert', severity: 'error', message: 'verify step failed' })).status).toBe(200);
    await until(async () => expect((await api('GET', '/api/migration/dashboard')).json.notifications.failed).toEqual({ slack: 1 }));
    const d = (await api('GET', '/api/migration/dashboard')).json.notifications;
    expect(d.lastFailure).toMatchObject({ destination: 'slack', error: expect.stringContaining('HTTP 500') });
    expect(d.lastFailure.error).not.toContain('/services/T000'); // the webhook URL is a secret
    await until(async () => expect((await api('GET', '/api/migration/dashboard')).json.notifications).toMatchObject({ pending: 0, delivered: { slack: 2 } }));
    expect(slack.requests.slice(before).map((r) => JSON.parse(r.body).text)).toEqual(['[ERROR] Default migration: verify step failed', '[ERROR] Default migration: verify step failed']);
    const acts = (await api('GET', '/api/migration/activity')).json.entries as Array<{ action: string; message: string }>;
    expect(acts.find((a) => a.action === 'alert.notify_failed')?.message).toMatch(/Could not send to slack \(attempt 1\): slack webhook: .*HTTP 500/);
  });
});
