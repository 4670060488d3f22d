import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { isDomainError } from '../../core/errors';
import type { ConnectorConfig, ValidationConfig } from '../../core/validation/config';
import type { ValidationReport } from '../../core/validation/result';
import { CliError } from '../errors';
import { outputFormat, renderData, table, terminalWidth, withFormat, type OutputFormat } from '../output';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';

interface ValidateOptions extends ApiOptions {
  config: string;
  format?: string;
  output?: string;
  dryRun?: boolean;
  resume?: boolean;
  checkpointDir: string;
  runId?: string;
  metricsFile?: string;
}

export const DEFAULT_CHECKPOINT_DIR = '.migration-monitor/checkpoints';

/**
 * `migration-monitor validate --config checks.yaml`: run the checks, print the report, exit 0 on pass,
 * 1 on fail, 2 on a bad config. A CI gate.
 */
export function registerValidate(program: Command): void {
  withFormat(
    withApiOptions(
    program
      .command('validate')
      .description('run validation checks (latency, reachability, cloud resources, data consistency); exit 0 pass, 1 data differs, 2 bad config, 3 could not check')
      .requiredOption('-c, --config <file>', 'checks file (YAML or JSON)')
      .option('--output <file>', 'write the report here instead of stdout (the verdict line still goes to stderr)')
      .option('--dry-run', 'validate the config and print what would run, without running anything')
      .option('--resume', 'continue the interrupted run of this config from its checkpoint')
      .option('--checkpoint-dir <dir>', 'where runs keep their checkpoints', DEFAULT_CHECKPOINT_DIR)
      .option('--run-id <id>', 'id for this run (default: generated)')
      .option('--metrics-file <file>', 'write the run metrics in Prometheus text format (node_exporter textfile collector)'),
    ),
    { default: 'markdown' },
  ).action(async (opts: ValidateOptions) => {
    // loaded here, not at start-up: other commands do not pay for zod schemas, drivers and prom-client
    const { runConfiguredValidation } = require('../../compose/validation-runtime') as typeof import('../../compose/validation-runtime');
    const { metricsFor } = require('../../compose/metrics') as typeof import('../../compose/metrics');
    const { checkpointKey } = require('../../core/validation/engine') as typeof import('../../core/validation/engine');
    const format = outputFormat(opts);
    const cfg = await loadConfig(opts.config);
    if (opts.dryRun) {
      process.stdout.write(renderPlan(cfg, format));
      return;
    }
    const trackerUrl = opts.url ?? process.env['MIGRATION_MONITOR_URL'];
    const tracker = trackerUrl
      ? { client: await clientFrom({ ...opts, url: trackerUrl, actor: opts.actor ?? process.env['MIGRATION_MONITOR_ACTOR'] ?? 'validation' }), url: trackerUrl, migrationId: opts.migration ?? process.env['MIGRATION_MONITOR_MIGRATION'] }
      : undefined;
    const prom = opts.metricsFile ? metricsFor('local') : undefined;
    const ac = new AbortController();
    const stop = (sig: string) => {
      process.stderr.write(`migration-monitor: ${sig}: stopping after the current batch and saving progress...\n`);
      ac.abort(new Error(sig));
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    let report;
    try {
      report = await runConfiguredValidation(cfg, {
        baseDir: dirname(resolve(opts.config)),
        checkpointDir: resolve(opts.checkpointDir),
        resume: opts.resume,
        runId: opts.runId,
        signal: ac.signal,
        metrics: prom,
        tracker,
      });
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    }
    const out = renderValidation(report, format);
    if (opts.output) await writeFile(opts.output, out);
    else process.stdout.write(out);
    if (prom) await writeFile(opts.metricsFile!, await prom.registry.metrics());
    const t = report.totals;
    process.stderr.write(
      `validation ${report.verdict.toUpperCase()}: ${t.passed}/${t.checks} checks passed${t.notRun ? `, ${t.notRun} not run` : ''} (run ${report.runId})` +
        (report.interrupted ? `; interrupted, progress saved in ${resolve(opts.checkpointDir)}/${checkpointKey(cfg)}.json: run again with --resume` : '') +
        (report.tracker?.problems.length ? `; tracker: ${report.tracker.problems.join('; ')}` : '') +
        '\n',
    );
    process.exitCode = exitCodeOf(report);
  });
}


async function loadConfig(path: string): Promise<ValidationConfig> {
  const { parseConfigText } = require('../../core/validation/config') as typeof import('../../core/validation/config');
  return loadConfigFile(path, parseConfigText);
}

/** Read and parse a config file; an unreadable file or a bad config is exit 2 with the file named. */
export async function loadConfigFile<T>(path: string, parse: (text: string, path: string) => T): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read the config ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 2);
  }
  try {
    return parse(text, path);
  } catch (e) {
    if (isDomainError(e)) throw new CliError(`${path}: ${e.message}`, 2);
    throw e;
  }
}

/** The report in an output format: JSON/YAML the report itself, Markdown the full report, table the checks at a glance. */
export function renderValidation(r: ValidationReport, format: OutputFormat): string {
  const { renderReport } = require('../../core/validation/render') as typeof import('../../core/validation/render');
  if (format === 'json' || format === 'markdown') return renderReport(r, format);
  return `${renderData(r, format, () => {
    const t = r.totals;
    const rows = [...r.checks.map((c) => [c.passed ? 'pass' : 'FAIL', c.name, c.kind, c.summary]), ...r.notRun.map((n) => ['not run', n, '', ''])];
    return `Validation ${r.verdict.toUpperCase()}${r.name ? `: ${r.name}` : ''}: ${t.passed}/${t.checks} checks passed (run ${r.runId})\n\n${table(['Result', 'Check', 'Kind', 'Summary'], rows, false, terminalWidth())}`;
  })}\n`;
}

/** What a run would do, without connecting anywhere. */
export function renderPlan(cfg: ValidationConfig, format: OutputFormat): string {
  const { describeCheck } = require('../../core/validation/checks') as typeof import('../../core/validation/checks');
  const connectors = Object.entries(cfg.connectors).map(([name, c]) => ({ name, type: c.type, target: describeConnector(c) }));
  const checks = cfg.checks.map((c) => ({ name: c.name, kind: c.kind, does: describeCheck(c) }));
  const plan = { valid: true, dryRun: true, name: cfg.name, connectors, checks };
  if (format === 'json' || format === 'yaml') return `${renderData(plan, format, () => '')}\n`;
  if (format === 'table') {
    const w = terminalWidth();
    return [
      `Validation plan${cfg.name ? `: ${cfg.name}` : ''} (dry run: config is valid, nothing was run)`,
      ...(connectors.length ? ['', table(['Connector', 'Type', 'Target'], connectors.map((c) => [c.name, c.type, c.target]), false, w)] : []),
      '',
      table(['#', 'Check', 'Kind', 'Does'], checks.map((c, i) => [String(i + 1), c.name, c.kind, c.does]), false, w),
      '',
    ].join('\n');
  }
  return [
    `# Validation plan${cfg.name ? `: ${cfg.name}` : ''} (dry run: config is valid, nothing was run)`,
    '',
    ...(connectors.length ? ['Connectors:', '', ...connectors.map((c) => `- **${c.name}** (${c.type}): ${c.target}`), ''] : []),
    'Checks:',
    '',
    ...checks.map((c, i) => `${i + 1}. **${c.name}** (${c.kind}): ${c.does}`),
    '',
  ].join('\n');
}

const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

function describeConnector(c: ConnectorConfig): string {
  switch (c.type) {
    case 'postgres':
      return `${redact(c.url)} table ${c.schema}.${c.table} key ${c.key}${c.where ? ` where ${c.where}` : ''}`;
    case 'dynamodb':
      return `table ${c.table} key ${c.key}${c.endpoint ? ` at ${c.endpoint}` : ''}${c.region ? ` in ${c.region}` : ''}`;
    case 'redis':
      return `${redact(c.url)} keys ${c.prefix}* (${c.valueType})`;
    case 'http-json':
      return `${c.url} (${c.cursor ? 'cursor' : 'offset'} paging)`;
    case 'file':
      return `${c.path}${c.sorted ? ' (sorted)' : ''}`;
  }
}

/**
 * The gate's answer: 0 pass; 1 a check found a difference (or a threshold missed); 3 nothing failed on the
 * data but a check could not run (connection, permission, missing table: the message names the side).
 */
export function exitCodeOf(report: { verdict: string; checks: Array<{ passed: boolean; error?: string }> }): number {
  if (report.verdict === 'pass') return 0;
  return report.checks.some((c) => !c.passed && !c.error) ? 1 : 3;
}
