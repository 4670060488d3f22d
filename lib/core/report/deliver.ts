import { randomUUID } from 'node:crypto';
import { buildStatusReport, defaultReportId, summarize, type ReportInput, type StatusReport } from './model';
import { reportSummarySchema, type ReportSummary } from './summary';
import { checkReportKey, type ReportAlerter, type ReportMetrics, type ReportNotifier, type ReportSink } from './ports';
import { FORMAT_INFO, render, toMessage, type ReportFormat } from './render';
import { withSpan } from '../tracing';

/**
 * Fan-out of one report to every channel, idempotent per report id (`<migrationId>/<YYYY-MM-DD>`):
 *
 * - archives (file, S3, GCS) store `<reportId>.<ext>` with a create-once put: a retried or doubled run
 *   writes the object once;
 * - notifiers (email, Slack) send once: before sending, a run claims `<reportId>.deliveries/<channel>/attempt-<n>.json`
 *   in the ledger sink with a create-once put, and records `sent.json` after. A doubled run finds the claim
 *   (or `sent.json`) and does not send; a run after a failed attempt (`attempt-<n>.failed.json`) or after a
 *   claim older than the lease (a crashed run) claims attempt n+1 and sends;
 * - the ledger also keeps `<reportId>.summary.json` and `<migrationId>/latest.json`, the summary the next
 *   report compares itself against.
 *
 * A channel that fails does not stop the others. Failures are returned per channel, counted
 * (`ReportDeliveryFailures`), and raised on the tracker as an error alert.
 */

export type ChannelOutcome = 'delivered' | 'already-delivered' | 'in-flight' | 'failed';

export interface ChannelResult {
  channel: string;
  outcome: ChannelOutcome;
  /** Where an archive put the report. */
  location?: string;
  /** Who a notifier sent to. */
  to?: string[];
  error?: string;
}

export interface DeliveryResult {
  reportId: string;
  /** False when any channel (or the ledger) failed. */
  ok: boolean;
  results: ChannelResult[];
  /** Set when raising the delivery-failure alert on the tracker failed too. */
  alertError?: string;
}

export interface DeliveryOptions {
  /** Format of the archived object. Default html. */
  format?: ReportFormat;
  archives?: ReportSink[];
  notifiers?: ReportNotifier[];
  /** Where summaries and delivery markers live. Usually the first archive; required when there are notifiers. */
  ledger?: ReportSink;
  metrics?: ReportMetrics;
  alerter?: ReportAlerter;
  now: number;
  /** A claim older than this without `sent.json` or `.failed.json` is taken to be a crashed run. Default 15 min. */
  leaseMs?: number;
  /** Attempts per channel and report before giving up. Default 5. */
  maxAttempts?: number;
}

interface LatestRecord {
  reportId: string;
  summary: ReportSummary;
  previous: ReportSummary | null;
}

export const latestKey = (migrationId: string) => checkReportKey(`${migrationId}/latest.json`);
export const reportKey = (reportId: string, format: ReportFormat) => checkReportKey(`${reportId}.${FORMAT_INFO[format].ext}`);

/**
 * The summary to compare the report `reportId` against: the latest stored one, or, when the latest is
 * this very report (a doubled or retried run), the one before it.
 */
export async function loadPrevious(ledger: ReportSink, migrationId: string, reportId: string): Promise<ReportSummary | null> {
  const raw = await ledger.get(latestKey(migrationId));
  if (raw === null) return null;
  const latest = parseLatest(raw, `${ledger.channel}:${latestKey(migrationId)}`);
  return latest.reportId === reportId ? latest.previous : latest.summary;
}

function parseLatest(raw: string, where: string): LatestRecord {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${where} is not JSON: ${(e as Error).message}`);
  }
  const o = v as Partial<LatestRecord>;
  const summary = reportSummarySchema.safeParse(o?.summary);
  const previous = o?.previous == null ? null : reportSummarySchema.safeParse(o.previous);
  if (typeof o?.reportId !== 'string' || !summary.success || (previous && !previous.success)) {
    throw new Error(`${where} is not a report summary record (fields reportId, summary, previous)`);
  }
  return { reportId: o.reportId, summary: summary.data, previous: previous ? previous.data : null };
}

/** Deliver to every channel; `earlier` are failures found before delivery (they are counted and alerted with the rest). */
export async function deliverReport(report: StatusReport, previous: ReportSummary | null, o: DeliveryOptions, earlier: ChannelResult[] = []): Promise<DeliveryResult> {
  const format = o.format ?? 'html';
  const archives = o.archives ?? [];
  const notifiers = o.notifiers ?? [];
  const results: ChannelResult[] = [];

  const body = await withSpan('migration.report.render', { attributes: { 'migration.report.format': format } }, async () => render(report, format));
  const key = reportKey(report.reportId, format);
  const archived = await Promise.all(
    archives.map((sink) => tracedChannel(sink.channel, async (): Promise<ChannelResult> => {
      try {
        const r = await sink.put(key, body, FORMAT_INFO[format].contentType);
        return { channel: sink.channel, outcome: r.created ? 'delivered' : 'already-delivered', location: r.location };
      } catch (e) {
        return { channel: sink.channel, outcome: 'failed', error: describe(e) };
      }
    })),
  );
  results.push(...archived);

  if (notifiers.length) {
    const links = archived.filter((r) => r.location).map((r) => r.location!);
    const message = toMessage(report, links);
    const sent = await Promise.all(
      notifiers.map((n) =>
        o.ledger ? tracedChannel(n.channel, () => sendOnce(o.ledger!, n, message, o)) : Promise.resolve<ChannelResult>({ channel: n.channel, outcome: 'failed', error: 'no ledger sink to record deliveries in' }),
      ),
    );
    results.push(...sent.flat());
  }

  if (o.ledger) {
    try {
      const summary = summarize(report);
      const first = await o.ledger.put(checkReportKey(`${report.reportId}.summary.json`), json(summary), 'application/json');
      // Only the run that produced the report moves `latest` (a doubled run leaves the first run's summary).
      if (first.created) {
        const latest: LatestRecord = { reportId: report.reportId, summary, previous };
        await o.ledger.replace(latestKey(report.migrationId), json(latest), 'application/json');
      }
    } catch (e) {
      results.push({ channel: `ledger:${o.ledger.channel}`, outcome: 'failed', error: `could not record the report summary: ${describe(e)}` });
    }
  }

  for (const r of results) {
    if (r.outcome === 'delivered') await o.metrics?.count('ReportsProduced', r.channel, 1);
    if (r.outcome === 'failed') await o.metrics?.count('ReportDeliveryFailures', r.channel.replace(/^ledger:/, ''), 1);
  }
  results.push(...earlier);
  const failed = results.filter((r) => r.outcome === 'failed');
  const out: DeliveryResult = { reportId: report.reportId, ok: failed.length === 0, results };
  if (failed.length && o.alerter) {
    const msg = `Status report ${report.reportId} could not be delivered to ${failed.map((f) => `${f.channel} (${f.error})`).join('; ')}`.slice(0, 1900);
    try {
      await o.alerter.deliveryFailed(report.migrationId, msg);
    } catch (e) {
      out.alertError = describe(e);
    }
  }
  return out;
}

/** One channel's delivery in a span `migration.report.channel` (channel, outcome; a failure sets status error). */
function tracedChannel<R extends ChannelResult | ChannelResult[]>(channel: string, deliver: () => Promise<R>): Promise<R> {
  return withSpan('migration.report.channel', { kind: 'client', attributes: { 'migration.channel': channel } }, async (span) => {
    const r = await deliver();
    const failed = ([] as ChannelResult[]).concat(r).find((x) => x.outcome === 'failed');
    span.setAttribute('migration.outcome', failed ? 'failed' : ([] as ChannelResult[]).concat(r)[0]?.outcome);
    if (failed) span.setStatus('error', failed.error);
    return r;
  });
}

interface Marker {
  at: number;
  runner: string;
}

/** Send through one notifier at most once per report id (see the module comment). Never throws. */
async function sendOnce(ledger: ReportSink, n: ReportNotifier, message: ReturnType<typeof toMessage>, o: DeliveryOptions): Promise<ChannelResult[]> {
  const base = `${message.reportId}.deliveries/${n.channel}`;
  const sentKey = checkReportKey(`${base}/sent.json`);
  const lease = o.leaseMs ?? 15 * 60_000;
  const runner = randomUUID();
  let ledgerError: string | undefined;
  try {
    const sent = await ledger.get(sentKey);
    if (sent !== null) return [{ channel: n.channel, outcome: 'already-delivered', to: (JSON.parse(sent) as { to?: string[] }).to ?? [] }];
    for (let attempt = 1; attempt <= (o.maxAttempts ?? 5); attempt++) {
      const claimKey = checkReportKey(`${base}/attempt-${attempt}.json`);
      const failedKey = checkReportKey(`${base}/attempt-${attempt}.failed.json`);
      const claim = await ledger.put(claimKey, json({ at: o.now, runner } satisfies Marker), 'application/json');
      if (claim.created) {
        try {
          const r = await n.send(message);
          await ledger.put(sentKey, json({ at: o.now, runner, attempt, id: r.id, to: r.to }), 'application/json');
          return [{ channel: n.channel, outcome: 'delivered', to: r.to }];
        } catch (e) {
          const error = describe(e);
          await ledger.put(failedKey, json({ at: o.now, runner, error }), 'application/json').catch(() => undefined);
          return [{ channel: n.channel, outcome: 'failed', error }];
        }
      }
      if ((await ledger.get(failedKey)) !== null) continue;
      const other = JSON.parse((await ledger.get(claimKey)) ?? '{}') as Partial<Marker>;
      if (typeof other.at === 'number' && o.now - other.at > lease) continue;
      if ((await ledger.get(sentKey)) !== null) return [{ channel: n.channel, outcome: 'already-delivered' }];
      return [{ channel: n.channel, outcome: 'in-flight' }];
    }
    return [{ channel: n.channel, outcome: 'failed', error: `gave up after ${o.maxAttempts ?? 5} attempts for ${message.reportId}` }];
  } catch (e) {
    ledgerError = describe(e);
  }
  // The ledger is unusable: send anyway (people get their report), and report the ledger as failed, since a
  // retry may now send twice.
  const out: ChannelResult[] = [{ channel: `ledger:${ledger.channel}`, outcome: 'failed', error: `delivery markers unavailable (${n.channel} sent without a once-only guarantee): ${ledgerError}` }];
  try {
    const r = await n.send(message);
    out.unshift({ channel: n.channel, outcome: 'delivered', to: r.to });
  } catch (e) {
    out.unshift({ channel: n.channel, outcome: 'failed', error: describe(e) });
  }
  return out;
}

export interface ProduceOptions extends DeliveryOptions {
  input: Omit<ReportInput, 'previous' | 'now'>;
}

/** Load the previous summary, build the report, deliver it. The one flow behind the CLI and the scheduled handlers. */
export async function produceReport(o: ProduceOptions): Promise<{ report: StatusReport; delivery: DeliveryResult }> {
  const s = o.input.state;
  const opts = o.input.options ?? {};
  const reportId = opts.reportId ?? defaultReportId(s.id, o.now, opts.timeZone);
  let previous: ReportSummary | null = null;
  const earlier: ChannelResult[] = [];
  if (o.ledger) {
    try {
      previous = await loadPrevious(o.ledger, s.id, reportId);
    } catch (e) {
      earlier.push({ channel: `ledger:${o.ledger.channel}`, outcome: 'failed', error: `could not read the previous summary: ${describe(e)}` });
    }
  }
  const report = await withSpan('migration.report.build', { attributes: { 'migration.id': s.id } }, async () => buildStatusReport({ ...o.input, previous, now: o.now }));
  return { report, delivery: await deliverReport(report, previous, o, earlier) };
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** An error as one line, without stack; adapters keep secrets (webhook URLs, passwords) out of their messages. */
export function describe(e: unknown): string {
  const m = e instanceof Error ? `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}` : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 500);
}
