import type { Command } from 'commander';
import { TrackerApiError, type TrackerClient } from '../../adapters/http/tracker-client';
import { buildChannels, channelEnvSchema, channelSettingsFromEnv, checkSettings, OUTPUTS, type ChannelSettings } from '../../compose/channels';
import { EnvError, parseEnv } from '../../compose/env';
import { activityFromResponse, historyFromResponse, stateFromDashboard } from '../../core/report/dashboard-state';
import { loadPrevious, produceReport, type DeliveryResult } from '../../core/report/deliver';
import { deliveredChannels, reportRecord } from '../../core/report/runner';
import { buildStatusReport, defaultReportId, type ReportOptions } from '../../core/report/model';
import type { ReportMetrics } from '../../core/report/ports';
import { render, REPORT_FORMATS, type ReportFormat } from '../../core/report/render';
import { CliError } from '../errors';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';
import { outputFormat, renderData, table, withFormat } from '../output';

export interface ReportFlags extends ApiOptions {
  output: string[];
  path: string;
  bucket?: string;
  prefix?: string;
  recipients?: string;
  from?: string;
  emailVia?: string;
  /** The output switch (what is printed); before it, `--format` chose the stored report's format. */
  format?: string;
  formatSource?: string;
  reportFormat?: string;
  metrics?: boolean;
  dryRun?: boolean;
  reportId?: string;
  stateDir?: string;
  stallMinutes?: string;
  errorRate?: string;
  timeZone?: string;
  now?: string;
  json?: boolean;
}

const DAY = 24 * 3600 * 1000;
/** The tracker API's largest activity page. */
const ACTIVITY_LIMIT = 10_000;

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)];

/**
 * `migration-monitor report`: build the status report from the tracker API and deliver it to files, S3,
 * GCS, email and Slack. Exit 0 when every channel took it (or already had it), 1 when any channel failed
 * (the others still get it; the failure is raised as an alert on the tracker), 2 on bad arguments.
 */
export function registerReport(program: Command): void {
  const cmd = withApiOptions(
    program
      .command('report')
      .description('Build the migration status report and deliver it (files, S3, GCS, email, Slack); idempotent per migration and day')
      .option('--output <channels>', `where to deliver: ${OUTPUTS.join(', ')} (repeat or comma-separate; default file)`, collect)
      .option('--path <dir>', 'directory for --output=file', 'reports/')
      .option('--bucket <name>', 'bucket for --output=s3 / --output=gcs')
      .option('--prefix <prefix>', 'key prefix inside the bucket')
      .option('--recipients <list>', 'comma-separated email addresses for --output=email')
      .option('--from <address>', 'sender for --output=email (env REPORT_EMAIL_FROM)')
      .option('--email-via <transport>', 'smtp (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD) or ses (env REPORT_EMAIL_VIA)')
      .option('--report-format <format>', `format of the delivered report: ${REPORT_FORMATS.join(', ')} (default markdown; was --format, still read with a notice)`)
      .option('--metrics', 'include the metrics section (data migrated, speed, error rate)')
      .option('--dry-run', 'render and print the report; deliver nothing')
      .option('--report-id <id>', 'report id instead of <migration>/<YYYY-MM-DD> (e.g. orders-db/milestone-1)')
      .option('--state-dir <dir>', 'where delivery markers and the last summary live when no file/s3/gcs output is used', '.data/reports')
      .option('--stall-minutes <n>', 'a running phase without progress for this long is a risk (default 30)')
      .option('--error-rate <percent>', 'an error rate above this is a risk (default 10)')
      .option('--time-zone <tz>', 'time zone of the report day (default UTC)')
      .option('--now <iso>', 'build the report as of this time (back-filling a missed day)'),
  );
  withFormat(cmd, {
    what: "each channel's outcome; with --dry-run, the report itself",
    legacyJson: true,
    // `--format html` chose the stored report's format before -o/--format was the output switch
    legacy: (v) => (v === 'html' ? { notice: '--format html is deprecated: use --report-format html (-o/--format now chooses what is printed)', format: 'table', apply: (c) => c.setOptionValue('reportFormat', 'html') } : undefined),
  }).action(async (flags: ReportFlags) => {
    process.exitCode = await runReport(flags);
  });
}

/**
 * The delivered report's format: --report-format; else, as before the output switch, `--format html|json`
 * spelt out after `report` (saying on stderr that this reading is deprecated; `-o` never had it); else markdown.
 */
function storedFormat(f: ReportFlags, notice = false, argv: string[] = process.argv): string {
  if (f.reportFormat !== undefined) return f.reportFormat;
  if (f.format === 'html') return 'html';
  if (f.format === 'json' && f.formatSource === 'cli' && spelledLongFormat(argv)) {
    if (notice) process.stderr.write('migration-monitor: --format json also makes the delivered report JSON (deprecated): say --report-format json (or markdown) for the report itself\n');
    return 'json';
  }
  return 'markdown';
}

/** `--format json` / `--format=json` after the `report` word (not `-o json`, not a global option before it). */
function spelledLongFormat(argv: string[]): boolean {
  const end = argv.indexOf('--') === -1 ? argv.length : argv.indexOf('--');
  const args = argv.slice(argv.indexOf('report') + 1, end);
  return args.some((a, i) => a === '--format=json' || (a === '--format' && args[i + 1] === 'json'));
}

/**
 * Every check of `report`'s arguments that needs no network: run by `report` itself and by
 * `schedule --install` (with the --env-from settings), so a crontab line never holds a run that cannot start.
 */
export async function checkReportFlags(f: ReportFlags, env: NodeJS.ProcessEnv = process.env, notice = false) {
  const format = parseReportFormat(storedFormat(f, notice));
  const now = f.now ? parseNow(f.now) : Date.now();
  const options = reportOptions(f);
  const settings = await channelSettings(f, env);
  const problems = f.dryRun ? [] : checkSettings(settings);
  if (problems.length) throw new CliError(problems.join('\n'), 2);
  return { format, now, options, settings };
}

async function runReport(f: ReportFlags): Promise<number> {
  const { format, now, options, settings } = await checkReportFlags(f, process.env, true);
  const out = outputFormat(f);

  const client = await clientFrom(f);
  const { state, activity, history } = await fetchInputs(client, now);

  if (f.dryRun) {
    // Read the previous summary if there is one (read-only), so the dry run shows the same comparison.
    const reportId = options.reportId ?? defaultReportId(state.id, now, options.timeZone);
    const previous = await buildChannels(settings)
      .then((c) => loadPrevious(c.ledger, state.id, reportId))
      .catch(() => null);
    const model = buildStatusReport({ state, activity, history, previous, now, options });
    // the report itself is the data: JSON/YAML the report model, otherwise the report as it would be delivered
    process.stdout.write(out === 'json' || out === 'yaml' ? `${renderData(JSON.parse(render(model, 'json')), out, () => '')}\n` : render(model, out === 'markdown' ? 'markdown' : format));
    return 0;
  }

  let channels;
  try {
    channels = await buildChannels(settings);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  const counts: Record<string, number> = {};
  const metrics: ReportMetrics = { count: (m, ch, v = 1) => void (counts[`${m}{Channel=${ch}}`] = (counts[`${m}{Channel=${ch}}`] ?? 0) + v) };
  const { report, delivery } = await produceReport({
    ...channels,
    format,
    now,
    metrics,
    alerter: {
      deliveryFailed: async (_id, message) => {
        await client.send({ action: 'create_alert', severity: 'error', message });
      },
    },
    input: { state, activity, history, options },
  });
  const delivered = deliveredChannels(delivery.results);
  if (delivered.length) {
    const { op, key } = reportRecord(report.reportId, delivered);
    // the tracker counts reports per channel (its /metrics exports them): a failure here is said, not fatal
    await client.send(op, key).catch((e: Error) => process.stderr.write(`migration-monitor: could not record the report on the tracker: ${e.message}\n`));
  }
  const data = { ...delivery, metrics: counts };
  process.stdout.write(out === 'table' ? describeDelivery(report.reportId, delivery) : `${renderData(data, out, () => deliveryTable(report.reportId, delivery, true))}\n`);
  if (delivery.alertError) process.stderr.write(`migration-monitor: could not raise the delivery-failure alert on the tracker: ${delivery.alertError}\n`);
  return delivery.ok ? 0 : 1;
}

export function describeDelivery(reportId: string, d: DeliveryResult): string {
  const lines = [`report ${reportId}`];
  for (const r of d.results) {
    const where = r.location ?? (r.to?.length ? r.to.join(', ') : '');
    lines.push(`  ${r.channel.padEnd(10)} ${r.outcome}${where ? `  ${where}` : ''}${r.error ? `  ${r.error}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Each channel's outcome as a Markdown table. */
function deliveryTable(reportId: string, d: DeliveryResult, markdown: boolean): string {
  const rows = d.results.map((r) => [r.channel, r.outcome, r.location ?? (r.to?.length ? r.to.join(', ') : ''), r.error ?? '']);
  return `${markdown ? `**report ${reportId}**` : `report ${reportId}`}\n\n${table(['Channel', 'Outcome', 'Where', 'Error'], rows, markdown)}`;
}

async function fetchInputs(client: TrackerClient, now: number) {
  try {
    const state = stateFromDashboard(await client.dashboard(0));
    const activity = activityFromResponse(await client.activity({ since: new Date(now - DAY), limit: ACTIVITY_LIMIT }));
    const history = await client.historyOrNull({ from: new Date(now - DAY), step: '1h' }).then((h) => (h ? historyFromResponse(h) : undefined));
    return { state, activity, history };
  } catch (e) {
    if (e instanceof TrackerApiError) throw new CliError(`tracker API: ${e.message} (HTTP ${e.status})`, 1);
    throw new CliError((e as Error).message, 1);
  }
}

/** Flags become the variables the handlers read, so the CLI and the handlers share one reading of them. */
async function channelSettings(f: ReportFlags, base: NodeJS.ProcessEnv): Promise<ChannelSettings> {
  const env: NodeJS.ProcessEnv = { ...base, REPORT_OUTPUTS: (f.output?.length ? f.output : ['file']).join(','), REPORT_PATH: f.path };
  const flags: Record<string, string | undefined> = { REPORT_BUCKET: f.bucket, REPORT_PREFIX: f.prefix, REPORT_RECIPIENTS: f.recipients, REPORT_EMAIL_FROM: f.from, REPORT_EMAIL_VIA: f.emailVia, REPORT_STATE_DIR: f.stateDir };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) env[k] = v;
  try {
    return await channelSettingsFromEnv(parseEnv(channelEnvSchema, env, 'report'), async (name) => env[name]);
  } catch (e) {
    if (e instanceof EnvError) throw new CliError(e.message.replace(/^report: bad environment: /, '').replace(/REPORT_OUTPUTS(\[\d+\])?:?/, '--output').replace(/REPORT_EMAIL_VIA/, '--email-via (REPORT_EMAIL_VIA)'), 2);
    throw e;
  }
}

function reportOptions(f: ReportFlags): ReportOptions {
  const num = (flag: string, v: string | undefined, max: number) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new CliError(`${flag} must be a number between 0 and ${max} (got "${v}")`, 2);
    return n;
  };
  const stallMinutes = num('--stall-minutes', f.stallMinutes, 7 * 24 * 60);
  const errorRatePercent = num('--error-rate', f.errorRate, 100);
  if (f.timeZone) {
    try {
      new Intl.DateTimeFormat('en-CA', { timeZone: f.timeZone });
    } catch {
      throw new CliError(`--time-zone is not a time zone: "${f.timeZone}"`, 2);
    }
  }
  if (f.reportId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(f.reportId)) {
    throw new CliError(`--report-id must be "/"-separated segments of letters, digits, ".", "_" or "-" (got "${f.reportId}")`, 2);
  }
  return {
    includeMetrics: !!f.metrics,
    thresholds: { ...(stallMinutes ? { stallMinutes } : {}), ...(errorRatePercent ? { errorRatePercent } : {}) },
    ...(f.timeZone ? { timeZone: f.timeZone } : {}),
    ...(f.reportId ? { reportId: f.reportId } : {}),
  };
}

function parseReportFormat(v: string): ReportFormat {
  if (!(REPORT_FORMATS as readonly string[]).includes(v)) throw new CliError(`--report-format must be one of ${REPORT_FORMATS.join(', ')} (got "${v}")`, 2);
  return v as ReportFormat;
}

function parseNow(v: string): number {
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CliError(`--now must be an ISO date-time (got "${v}")`, 2);
  return t;
}
