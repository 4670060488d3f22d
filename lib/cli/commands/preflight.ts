import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { PreflightConfig } from '../../core/preflight/config';
import { CliError } from '../errors';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';
import { loadConfigFile } from './validate';

interface PreflightOptions extends ApiOptions {
  config: string;
  format: string;
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
  withApiOptions(
    program
      .command('preflight')
      .description('readiness before a migration: both sides reachable (versions), inventory, free disk and memory for the copy, predicted time; exit 0 ready, 1 not ready, 2 bad config, 3 could not check')
      .requiredOption('-c, --config <file>', 'the validation config file (its connectors and its "preflight" section), YAML or JSON')
      .option('--format <f>', 'markdown or json', 'markdown')
      .option('-o, --output <file>', 'write the result here instead of stdout (the verdict line still goes to stderr)')
      .option('--post', 'post the result to the tracker (--url/MIGRATION_MONITOR_URL): progress and activity on the initialization phase')
      .option('--phase <id>', 'phase that gets the result with --post', 'initialization')
      .option('--subtask <id>', 'its sub-task that gets the result, when the phase has it', 'preflight'),
  ).action(async (opts: PreflightOptions) => {
    if (opts.format !== 'json' && opts.format !== 'markdown') throw new CliError(`--format must be json or markdown (got "${opts.format}")`, 2);
    const cfg = await loadPreflightConfig(opts.config);
    // loaded here, not at start-up: other commands do not pay for the drivers
    const { runConfiguredPreflight } = require('../../compose/preflight') as typeof import('../../compose/preflight');
    const { renderPreflight, postPreflight, preflightSummary } = require('../../core/preflight/render') as typeof import('../../core/preflight/render');
    const result = await runConfiguredPreflight(cfg, { baseDir: dirname(resolve(opts.config)) });
    const out = renderPreflight(result, opts.format);
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

function loadPreflightConfig(path: string): Promise<PreflightConfig> {
  const { parsePreflightConfig } = require('../../core/preflight/config') as typeof import('../../core/preflight/config');
  return loadConfigFile(path, (text, p) => parsePreflightConfig(text, p));
}
