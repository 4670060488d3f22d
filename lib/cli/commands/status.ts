import type { Command } from 'commander';
import { TrackerApiError, type TrackerClient } from '../../adapters/http/tracker-client';
import { bytes } from '../../core/report/format';
import { CliError } from '../errors';
import { clientFrom, progressBar, toYaml, withApiOptions, type ApiOptions } from '../common';
import { outputFormat, table, terminalWidth, useColor, withFormat, type OutputFormat } from '../output';

interface Overview {
  migrationId: string;
  name: string;
  status: string;
  paused: boolean;
  overallProgress: number;
  estimate: { estimatedCompletion: string | null; confidence: string; basis: string };
  phases: Array<{ id: string; name: string; status: string; progress: number; stale: boolean; stalled: boolean; estimatedDuration: number; actualDuration?: number; currentTask?: string; error?: string }>;
  openAlerts: Record<string, number>;
  metrics: { totalDataMigrated: number; migrationSpeed: number; errorRate: number };
  /** The tracker's own verdict (GET /health?migration=<id>): the same one /health, the dashboard and alarms use. */
  health?: Health;
}

export interface Health {
  status: 'healthy' | 'degraded' | 'unhealthy';
  reasons: string[];
}

/** One line: "Health: DEGRADED - phase "copy" stalled: ..." (all reasons, in the tracker's order). */
export function healthLine(h: Health | undefined, color = false): string {
  if (!h) return 'Health: unknown';
  const word = h.status.toUpperCase();
  const painted = !color ? word : `\x1b[${h.status === 'healthy' ? 32 : h.status === 'degraded' ? 33 : 31}m${word}\x1b[0m`;
  return `Health: ${painted}${h.reasons.length ? ` - ${h.reasons.join('; ')}` : ''}`;
}

/** Render the overview in one of the output formats. */
export function renderStatus(o: Overview, format: OutputFormat, color = false, width = Infinity): string {
  if (format === 'json') return JSON.stringify(o, null, 2);
  if (format === 'yaml') return toYaml(o).trimEnd();
  const md = format === 'markdown';
  const paint = (s: string, status: string) => (!color ? s : `\x1b[${status === 'completed' ? 32 : status === 'failed' ? 31 : status === 'in_progress' ? 36 : 90}m${s}\x1b[0m`);
  const eta = o.estimate.estimatedCompletion ? `${o.estimate.estimatedCompletion} (${o.estimate.confidence} confidence)` : o.estimate.basis === 'completed' ? 'done' : 'not enough data yet';
  const head = [
    md ? `## ${o.name} (\`${o.migrationId}\`)` : `${o.name} (${o.migrationId})`,
    healthLine(o.health, color),
    `Status: ${o.status}${o.paused ? ' (paused)' : ''}   Overall: ${progressBar(o.overallProgress)} ${o.overallProgress.toFixed(1)}%   ETA: ${eta}`,
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
    const o = await client.overview<Overview>();
    const all = await client.health<{ status: Health['status']; migrations?: Array<Health & { migrationId: string }> }>(o.migrationId);
    const mine = all.migrations?.find((m) => m.migrationId === o.migrationId);
    return { ...o, health: { status: mine?.status ?? all.status, reasons: mine?.reasons ?? [] } };
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
