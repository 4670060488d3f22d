import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { PreflightConfig } from '../../core/preflight/config';
import type { PreflightResult, SideReport } from '../../core/preflight/preflight';
import { outputFormat, renderData, table, terminalWidth, withFormat } from '../output';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';
import { loadConfigFile } from './validate';

interface PreflightOptions extends ApiOptions {
  config: string;
  format?: string;
  output?: string;
  post?: boolean;
  phase: string;
  subtask: string;
}

/**
 * `migration-monitor preflight --config checks.yaml`: is the migration ready to start? Reachability and
 * versions of both sides, inventory, free disk (× the replication factor) and memory for the planned copy,
 * the capacity planner's time. Exit 0 ready, 1 not ready, 2 bad config, 3 could not check.
 */
export function registerPreflight(program: Command): void {
  const cmd = withApiOptions(
    program
      .command('preflight')
      .description('readiness before a migration: both sides reachable (versions), inventory, free disk and memory for the copy, predicted time; exit 0 ready, 1 not ready, 2 bad config, 3 could not check')
      .requiredOption('-c, --config <file>', 'the validation config file (its connectors and its "preflight" section), YAML or JSON')
      .option('--output <file>', 'write the result here instead of stdout (the verdict line still goes to stderr)')
      .option('--post', 'post the result to the tracker (--url/MIGRATION_MONITOR_URL): progress and activity on the initialization phase')
      .option('--phase <id>', 'phase that gets the result with --post', 'initialization')
      .option('--subtask <id>', 'its sub-task that gets the result, when the phase has it', 'preflight'),
  );
  withFormat(cmd, {
    default: 'markdown',
    // before the one output switch, `-o` was --output: a file name there still means it, with a notice
    legacy: (v) =>
      /[./\\]/.test(v) ? { notice: `-o ${v} is deprecated for preflight's output file: use --output ${v} (-o now chooses the format)`, format: 'markdown', apply: (c) => c.setOptionValue('output', v) } : undefined,
  }).action(async (opts: PreflightOptions) => {
    const format = outputFormat(opts);
    const cfg = await loadPreflightConfig(opts.config);
    // loaded here, not at start-up: other commands do not pay for the drivers
    const { runConfiguredPreflight } = require('../../compose/preflight') as typeof import('../../compose/preflight');
    const { renderPreflight, postPreflight, preflightSummary } = require('../../core/preflight/render') as typeof import('../../core/preflight/render');
    const result = await runConfiguredPreflight(cfg, { baseDir: dirname(resolve(opts.config)) });
    const out = format === 'json' || format === 'markdown' ? renderPreflight(result, format) : `${renderData(result, format, () => preflightTable(result))}\n`;
    if (opts.output) await writeFile(opts.output, out);
    else process.stdout.write(out);
    let posted = '';
    if (opts.post) {
      const client = await clientFrom({ ...opts, actor: opts.actor ?? process.env['MIGRATION_MONITOR_ACTOR'] ?? 'preflight' });
      const p = await postPreflight(client, result, { phase: opts.phase, subTask: opts.subtask });
      posted = p.problems.length ? `; tracker: ${p.problems.join('; ')}` : `; posted to ${p.phase}${p.subTask ? `/${p.subTask}` : ''}`;
    }
    process.stderr.write(`${preflightSummary(result)}${posted}\n`);
    process.exitCode = result.exitCode;
  });
}

/** The result at a glance, as a text table. */
function preflightTable(r: PreflightResult): string {
  const { preflightSummary } = require('../../core/preflight/render') as typeof import('../../core/preflight/render');
  const { bytes } = require('../../core/report/format') as typeof import('../../core/report/format');
  const size = (n: number | null) => (n === null ? '?' : bytes(n));
  const side = (s: SideReport) => (s.reachable ? `${s.connector} (${s.type}): ~${s.rows} rows, ${size(s.bytes)}` : s.error);
  const rows = [
    ['source', r.sides.source.reachable ? 'ok' : 'unreachable', side(r.sides.source)],
    ['target', r.sides.target.reachable ? 'ok' : 'unreachable', side(r.sides.target)],
    ['disk on the target', r.disk.status, `${size(r.disk.requiredBytes)} required (source × ${r.disk.replicationFactor}), ${size(r.disk.availableBytes)} available`],
    ['memory for the copy', r.memory.status, `${size(r.memory.requiredBytes)} required, ${bytes(r.memory.availableBytes)} available`],
    ['estimated time', r.estimate.status, r.estimate.total ?? r.estimate.rateBasis],
  ];
  return [preflightSummary(r), '', table(['Item', 'Status', 'Detail'], rows, false, terminalWidth()), ...r.warnings.map((w) => `warning: ${w}`)].join('\n');
}

function loadPreflightConfig(path: string): Promise<PreflightConfig> {
  const { parsePreflightConfig } = require('../../core/preflight/config') as typeof import('../../core/preflight/config');
  return loadConfigFile(path, (text, p) => parsePreflightConfig(text, p));
}
