import type { Command } from 'commander';
import { TrackerApiError } from '../../adapters/http/tracker-client';
import { formatDuration, measuredCapacity, planCapacity, type CapacityEstimate, type CapacityInput } from '../../core/capacity';
import { isDomainError } from '../../core/errors';
import { clientFrom, table, withApiOptions, type ApiOptions } from '../common';
import { outputFormat, renderData, terminalWidth, withFormat } from '../output';
import { CliError } from '../errors';

interface EstimateFlags extends ApiOptions {
  events?: string;
  rate?: string;
  lag: string;
  writeRate: string;
  catchUpRate?: string;
  cutoverPause: string;
  buffer: string;
  measured?: boolean;
  format?: string;
}

/** `10000`, `10_000`, `1.5M`, `250k`, `2e6` → a number; exit 2 naming the flag otherwise. */
export function parseAmount(v: string, flag: string): number {
  const m = /^([0-9][0-9_,]*(?:\.[0-9]+)?(?:e[0-9]+)?)([kMG]?)$/.exec(v.trim());
  const n = m ? Number(m[1]!.replace(/[_,]/g, '')) * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 }[m[2] as '' | 'k' | 'M' | 'G']) : NaN;
  if (!Number.isFinite(n)) throw new CliError(`${flag} must be a number like 5000000, 5M or 250k (got "${v}")`, 2);
  return n;
}

export function renderEstimate(e: CapacityEstimate, markdown = false): string {
  const rows = [
    ['Bulk copy', formatDuration(e.bulkCopySeconds), ''],
    ['Catch-up (dual-write)', formatDuration(e.catchUpSeconds), `${e.backlogEvents} events behind when the copy ends`],
    ['Cutover pause', formatDuration(e.cutoverSeconds), ''],
    ['Sum', formatDuration(e.rawTotalSeconds), ''],
    [`Total (× ${e.bufferFactor} buffer)`, formatDuration(e.totalSeconds), ''],
  ];
  return table(['Step', 'Duration', 'Note'], rows, markdown, terminalWidth());
}

export function registerEstimate(program: Command): void {
  withFormat(
    withApiOptions(
    program
      .command('estimate')
      .description('capacity planner: bulk-copy, catch-up, cutover and total duration with a buffer (or, with --measured, from the tracker\'s measured copy rate)')
      .option('--events <n>', 'events to copy (e.g. 5000000 or 5M)')
      .option('--rate <n>', 'bulk copy rate, events per second')
      .option('--lag <n>', 'events behind when the copy ends', '100')
      .option('--write-rate <n>', 'new events per second on the source during the copy', '0')
      .option('--catch-up-rate <n>', 'events per second the target applies while catching up (default: --rate)')
      .option('--cutover-pause <seconds>', 'write pause during cutover', '5')
      .option('--buffer <factor>', 'safety factor on the total (1-10)', '1.5')
      .option('--measured', 'use the copy rate measured by the tracker (events copied / time since the bulk copy started)')
  ),
  ).action(async (flags: EstimateFlags) => {
    const format = outputFormat(flags);
    const rest: Omit<CapacityInput, 'totalEvents' | 'copyRatePerSecond'> = {
      lagEvents: parseAmount(flags.lag, '--lag'),
      writeRatePerSecond: parseAmount(flags.writeRate, '--write-rate'),
      cutoverPauseSeconds: parseAmount(flags.cutoverPause, '--cutover-pause'),
      bufferFactor: parseAmount(flags.buffer, '--buffer'),
      ...(flags.catchUpRate ? { catchUpRatePerSecond: parseAmount(flags.catchUpRate, '--catch-up-rate') } : {}),
    };
    try {
      if (flags.measured) {
        const m = await measured(flags, rest);
        const text = (md: boolean) =>
          `Measured: ${m.eventsCopied} of ${m.eventsTotal} events in phase "${m.phaseId}" at ${m.measuredRatePerSecond} events/s\n${md ? '\n' : ''}` +
          `${renderEstimate(m.remaining, md)}\n${md ? '\n' : ''}Estimated completion: ${m.estimatedCompletion}`;
        process.stdout.write(`${renderData(m, format, text)}\n`);
        return;
      }
      if (flags.events === undefined || flags.rate === undefined) throw new CliError('give --events and --rate (or --measured to use the tracker\'s measured rate)', 2);
      const e = planCapacity({ ...rest, totalEvents: Math.round(parseAmount(flags.events, '--events')), copyRatePerSecond: parseAmount(flags.rate, '--rate') });
      process.stdout.write(`${renderData(e, format, (md) => renderEstimate(e, md))}\n`);
    } catch (e) {
      if (isDomainError(e)) throw new CliError(e.message, 2);
      throw e;
    }
  });
}

async function measured(flags: EstimateFlags, rest: Omit<CapacityInput, 'totalEvents' | 'copyRatePerSecond'>) {
  const client = await clientFrom(flags);
  let d: { phaseDetails: Array<{ id: string; status: string; startedAt?: string; completedAt?: string; metadata: Record<string, unknown> }> };
  try {
    d = await client.dashboard(0);
  } catch (e) {
    if (e instanceof TrackerApiError) throw new CliError(`tracker API: ${e.message} (HTTP ${e.status})`, 1);
    throw new CliError((e as Error).message, 1);
  }
  const phases = d.phaseDetails.map((p) => ({
    id: p.id,
    status: p.status,
    metadata: p.metadata,
    ...(p.startedAt ? { startedAt: Date.parse(p.startedAt) } : {}),
    ...(p.completedAt ? { completedAt: Date.parse(p.completedAt) } : {}),
  }));
  const m = measuredCapacity(phases, Date.now(), rest);
  if (!m) throw new CliError('no phase reports eventsCopied/eventsTotal yet (the log watcher records them from "Bulk copy progress" lines)', 1);
  return m;
}
