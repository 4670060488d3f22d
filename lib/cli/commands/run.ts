import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import YAML from 'yaml';
import { exitCodeOf, startTool } from '../../adapters/process/tool-process';
import { pgTableSizes } from '../../adapters/sql/pg-table-sizes';
import { BUILTIN_PROFILES, detectProfile, LogAnalyzer, PROFILE_NAMES, profileForCommand } from '../../core/logwatch';
import { idSchema } from '../../core/plan';
import { RunRelay } from '../../core/run/relay';
import { withApiOptions } from '../common';
import { CliError } from '../errors';
import { fields, outputFormat, renderData, table, terminalWidth, withFormat } from '../output';
import { checkProfile, explainLine } from '../log-profile';
import { loadWatchConfig, openLogSink, type SinkFlags } from './watch';

interface RunFlags extends SinkFlags {
  format?: string;
  formatGiven?: boolean;
  phase?: string;
  subtask?: string;
  profile?: string;
  config?: string;
  logFile?: string;
  explain?: boolean;
  sourceUrl?: string;
  runId?: string;
  heartbeat: string;
  expectUpdate: string;
  flushTimeout: string;
  quiet?: boolean;
  printProfile?: string;
}

const seconds = (flag: string, v: string, min: number, max: number): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new CliError(`${flag} must be ${min}-${max} seconds (got "${v}")`, 2);
  return n;
};

export function registerRun(program: Command): void {
  withFormat(withApiOptions(
    program
      .command('run')
      .description('run a migration tool and track it: start the phase, follow its output through a profile, complete or fail the phase from its exit code')
      .argument('[command...]', 'the tool and its arguments, after --')
      .option('--phase <id>', 'the phase the tool works on (created with a one-phase plan when the migration is new)')
      .option('--subtask <id>', 'report on this sub-task of the phase instead of the phase')
      .option('--profile <name>', `how to read the tool's output: ${PROFILE_NAMES.join(', ')} (default: from the command, else detected from its first lines)`)
      .option('--config <file>', 'your own patterns (YAML or JSON, the watch config schema), tried before the profile')
      .option('--log-file <file>', "append the tool's output to this file too")
      .option('--explain', 'print which rule matched each line and what it did (stderr)')
      .option('--source-url <url>', 'PostgreSQL source: weight pg_dump / pg_restore tables by their size in its catalog')
      .option('--run-id <id>', 'identity of this run in the tracker (default: a new one each time)')
      .option('--heartbeat <s>', 'renew the staleness promise this often while the tool lives', '30')
      .option('--expect-update <s>', 'staleness promise: the phase is stale after this long without a report', '120')
      .option('--flush-timeout <s>', 'after the tool ends, wait this long for an unreachable tracker before giving up', '60')
      .option('--store <kind>', 'apply updates in this process to a local store (file, memory, redis) instead of calling the tracker API')
      .option('--data-dir <dir>', 'directory of the embedded file store (implies --store file)')
      .option('--redis-url <url>', 'Redis URL for --store redis')
      .option('--print-profile <name>', 'print a built-in profile as YAML (a config to copy and adapt) and exit')
      .addHelpText('after', "\nOutput: the tool's own output passes through. With -o/--format (or the global -o) the tool's stdout goes to\nstderr instead, and stdout carries only the run's result (phase, exit code, outcome, run id) in that format."),
  ), { what: "the run's result; when given, the tool's stdout goes to stderr" }).action(async (command: string[], flags: RunFlags) => {
    const format = outputFormat(flags);
    if (flags.printProfile !== undefined) {
      const name = checkProfile(flags.printProfile)!;
      const p = BUILTIN_PROFILES[name]!;
      const profile = { useDefaultPatterns: false, patterns: p.config.patterns };
      // the YAML keeps its comment line (a config file to copy); the other formats carry the same config
      if (format === 'yaml' || !flags.formatGiven) process.stdout.write(`# ${name}: ${p.description}\n${YAML.stringify(profile)}`);
      else process.stdout.write(`${renderData(profile, format, (md) => table(['Pattern', 'Regex', 'Actions'], p.config.patterns.map((x) => [x.name, x.regex ?? JSON.stringify(x.fields ?? {}), x.actions.map((a) => a.do).join(', ')]), md, terminalWidth()))}\n`);
      return;
    }
    if (!command.length) throw new CliError('nothing to run: give the command after --, e.g. migration-monitor run --phase restore -- pg_restore -d target dump.fc', 2);
    if (!flags.phase) throw new CliError('--phase is required: the phase the tool works on', 2);
    for (const [flag, v] of [['--phase', flags.phase], ['--subtask', flags.subtask], ['--run-id', flags.runId]] as const) {
      if (v !== undefined && !idSchema.safeParse(v).success) throw new CliError(`${flag} "${v}" is not a valid id (letters, digits, - and _)`, 2);
    }
    const heartbeatS = seconds('--heartbeat', flags.heartbeat, 0.05, 3600);
    const expectS = Math.round(seconds('--expect-update', flags.expectUpdate, 1, 7 * 24 * 3600));
    const flushS = seconds('--flush-timeout', flags.flushTimeout, 0, 24 * 3600);
    const chosen = checkProfile(flags.profile) ?? profileForCommand(command);
    const migrationId = flags.migration ?? process.env['MIGRATION_MONITOR_MIGRATION'] ?? 'default';
    const overrides = { phase: flags.phase, subTask: flags.subtask, expectUpdateWithinSeconds: expectS, useDefaultPatterns: false };
    // Checked now (a bad config stops us before the tool starts); built again once the profile is known.
    loadWatchConfig(flags.config, migrationId, { ...overrides, profile: chosen });
    const log = (s: string) => process.stderr.write(`run: ${s}\n`);

    let itemWeights: Map<string, number> | undefined;
    if (flags.sourceUrl) {
      try {
        itemWeights = await pgTableSizes(flags.sourceUrl);
        log(`weighting ${itemWeights.size} tables by their size in the source catalog`);
      } catch (e) {
        throw new CliError(`--source-url: cannot read the table sizes: ${(e as Error).message}`, 2);
      }
    }
    const { sink, close } = await openLogSink(flags, 'run', log);
    const runId = flags.runId ?? `run-${randomUUID().slice(0, 8)}`;
    const commandText = command.join(' ');
    const relay = new RunRelay({
      sink,
      migrationId,
      phaseId: flags.phase,
      ...(flags.subtask ? { subTaskId: flags.subtask } : {}),
      runId,
      command: commandText,
      expectUpdateSeconds: expectS,
      log,
      makeAnalyzer: (first) => {
        const profile = chosen ?? detectProfile(first);
        log(profile ? `reading the output with the ${profile} profile` : 'no profile matched the first lines: only your --config patterns apply; the exit code still completes or fails the phase');
        return new LogAnalyzer({
          sink,
          config: loadWatchConfig(flags.config, migrationId, { ...overrides, profile }),
          completionByExit: true,
          ...(itemWeights ? { itemWeights } : {}),
          ...(flags.explain ? { explain: (e) => process.stderr.write(`${explainLine(e)}\n`) } : {}),
        });
      },
    });
    const tool = startTool({ argv: command, onLine: (text) => relay.push(text), stdoutToStderr: !!flags.formatGiven, ...(flags.logFile ? { logFile: flags.logFile } : {}) });
    const forward = (sig: NodeJS.Signals) => () => tool.signal(sig);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const timer = setInterval(() => relay.heartbeat(), heartbeatS * 1000);
    let code: number;
    try {
      const exit = await tool.exited;
      clearInterval(timer);
      code = exitCodeOf(exit);
      relay.finish(exit);
      const r = await relay.drain(flushS * 1000);
      const counts = relay.analyzerNow().unitCounts(migrationId, flags.phase);
      const units = counts.total ? `, ${counts.done}/${counts.total} units done` : '';
      if (!r.delivered) log(`the tracker could not be reached: ${r.pending} updates not delivered (the phase shows what got through; run again with --run-id ${runId} to replay nothing twice)`);
      if (r.dropped) log(`${r.dropped} output lines were dropped while the tracker was unreachable (queue full)`);
      const outcome = !r.delivered ? 'not recorded (tracker unreachable)' : code === 0 ? 'completed' : 'failed';
      const summary = `${command[0]} ${code === 0 ? 'succeeded' : `failed (exit ${code})`}: phase ${flags.phase}${flags.subtask ? `/${flags.subtask}` : ''} ${outcome}${units}; run id ${runId}`;
      log(summary);
      if (flags.formatGiven) {
        const result = { command: commandText, exitCode: code, phase: flags.phase, subtask: flags.subtask ?? null, outcome, runId, units: counts.total ? counts : null, delivered: r.delivered, pending: r.pending, dropped: r.dropped };
        process.stdout.write(`${renderData(result, format, (md) => (md ? fields(Object.entries(result).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)]), true) : summary))}\n`);
      }
    } finally {
      clearInterval(timer);
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      await close();
    }
    process.exitCode = code;
  });
}
