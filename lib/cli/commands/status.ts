import type { Command } from 'commander';
import { TrackerApiError, type TrackerClient } from '../../adapters/http/tracker-client';
import { bytes } from '../../core/report/format';
import { formatRemaining } from '../../core/progress';
import { CliError } from '../errors';
import { clientFrom, progressBar, toYaml, withApiOptions, type ApiOptions } from '../common';
import { outputFormat, table, terminalWidth, useColor, withFormat, type OutputFormat } from '../output';

interface Overview {
  migrationId: string;
  name: string;
  status: string;
  paused: boolean;
  overallProgress: number;
  estimate: { estimatedCompletion: string | null; confidence: string; basis: string; remainingMs?: number | null; uncertaintyMs?: number | null; reason?: string | null };
  phases: Array<{ id: string; name: string; status: string; progress: number; stale: boolean; stalled: boolean; estimatedDuration: number; actualDuration?: number; currentTask?: string; error?: string }>;
  openAlerts: Record<string, number>;
  metrics: { totalDataMigrated: number; migrationSpeed: number; errorRate: number };
  /** The tracker's one health (as /health says it). */
  health?: { status: string; reasons: string[] };
}

/** `remaining 2 h 10 min (± 25 min), ends Tue 24 Nov, 14:35 local time (low confidence)`, or why there is no ETA. */
export function etaText(e: Overview['estimate'], timeZone?: string): string {
  if (e.basis === 'completed') return 'done';
  if (!e.estimatedCompletion || e.remainingMs == null) return `none (${e.reason ?? 'not enough data yet'})`;
  const band = e.uncertaintyMs ? ` (± ${formatRemaining(e.uncertaintyMs)})` : '';
  const at = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone }).format(new Date(e.estimatedCompletion));
  return `remaining ${formatRemaining(e.remainingMs)}${band}, ends ${at} local time (${e.confidence} confidence)`;
}

const paintHealth = (status: string, color: boolean) => (!color ? status : `\x1b[${status === 'healthy' ? 32 : status === 'degraded' ? 33 : 31}m${status}\x1b[0m`);

/** Render the overview in one of the output formats. */
export function renderStatus(o: Overview, format: OutputFormat, color = false, width = Infinity): string {
  if (format === 'json') return JSON.stringify(o, null, 2);
  if (format === 'yaml') return toYaml(o).trimEnd();
  const md = format === 'markdown';
  const paint = (s: string, status: string) => (!color ? s : `\x1b[${status === 'completed' ? 32 : status === 'failed' ? 31 : status === 'in_progress' ? 36 : 90}m${s}\x1b[0m`);
  const eta = etaText(o.estimate);
  const head = [
    md ? `## ${o.name} (\`${o.migrationId}\`)` : `${o.name} (${o.migrationId})`,
    `Status: ${o.status}${o.paused ? ' (paused)' : ''}   Overall: ${progressBar(o.overallProgress)} ${o.overallProgress.toFixed(1)}%   ETA: ${eta}`,
    `Health: ${o.health ? paintHealth(o.health.status, color) : 'unknown'}${o.health?.reasons.length ? ` — ${o.health.reasons.join('; ')}` : ''}`,
    `Open alerts: critical ${o.openAlerts['critical'] ?? 0}, error ${o.openAlerts['error'] ?? 0}, warning ${o.openAlerts['warning'] ?? 0}, info ${o.openAlerts['info'] ?? 0}   ` +
      `Data: ${bytes(o.metrics.totalDataMigrated)} at ${bytes(o.metrics.migrationSpeed)}/s, error rate ${o.metrics.errorRate}%`,
  ];
  const rows = o.phases.map((p) => [
    p.name,
    paint(p.status + (p.stale ? ' (stale)' : p.stalled ? ' (stalled)' : ''), p.status),
    md ? `${p.progress.toFixed(0)}%` : `${progressBar(p.progress, 15)} ${p.progress.toFixed(0).padStart(3)}%`,
    `${p.actualDuration !== undefined ? p.actualDuration.toFixed(1) : '-'} / ${p.estimatedDuration}`,
    p.error ?? p.currentTask ?? '',
  ]);
  const tbl = table(['Phase', 'Status', 'Progress', 'Min (actual/est.)', 'Note'], rows, md, width);
  return md ? [...head, tbl].join('\n\n') : [...head, '', tbl].join('\n');
}


export async function fetchOverview(client: TrackerClient): Promise<Overview> {
  try {
    return await client.overview<Overview>();
  } catch (e) {
    if (e instanceof TrackerApiError) throw new CliError(`tracker API: ${e.message} (HTTP ${e.status})`, 1);
    throw new CliError((e as Error).message, 1);
  }
}

export function registerStatus(program: Command): void {
  withFormat(withApiOptions(program.command('status').description('one-shot status of a migration, with a health verdict')))
    .action(async (opts: ApiOptions & { format?: string }) => {
      const format = outputFormat(opts);
      const o = await fetchOverview(await clientFrom(opts));
      process.stdout.write(renderStatus(o, format, format === 'table' && useColor(), terminalWidth()) + '\n');
    });

  withApiOptions(program.command('monitor').description('live terminal view with progress bars (Ctrl-C to stop)'))
    .option('--interval <seconds>', 'refresh interval', '5')
    .option('--count <n>', 'stop after n refreshes (default: until interrupted)')
    .action(async (opts: ApiOptions & { interval: string; count?: string }) => {
      const interval = Number(opts.interval);
      if (!(interval > 0 && interval <= 3600)) throw new CliError(`--interval must be 0-3600 seconds (got "${opts.interval}")`, 2);
      const count = opts.count === undefined ? Infinity : Number(opts.count);
      if (!(count >= 1)) throw new CliError(`--count must be a positive integer (got "${opts.count}")`, 2);
      const client = await clientFrom(opts);
      const tty = process.stdout.isTTY;
      const color = useColor();
      let lastFailed = false;
      for (let i = 0; i < count; i++) {
        if (i) await new Promise((r) => setTimeout(r, interval * 1000));
        let out: string;
        try {
          out = renderStatus(await fetchOverview(client), 'table', color, terminalWidth());
          lastFailed = false;
        } catch (e) {
          const last = i === count - 1;
          out = `cannot read status: ${(e as Error).message}${last ? '' : ` (retrying in ${interval}s)`}`;
          lastFailed = true;
        }
        process.stdout.write((tty ? '\x1b[2J\x1b[H' : '') + out + `\n\nupdated ${new Date().toLocaleTimeString()} · every ${interval}s\n`);
      }
      // With --count, a run whose last refresh failed is a failure for the script that started it.
      if (lastFailed) process.exitCode = 1;
    });
}
