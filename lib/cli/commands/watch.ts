import fs from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { remoteTrackerSink } from '../../adapters/http/tracker-sink';
import { serveHttp, type RunningServer } from '../../adapters/http/server';
import { LogTailer, watchLogs } from '../../adapters/file/log-tailer';
import { metricsFor } from '../../compose/metrics';
import { metricsRoute } from '../../adapters/prometheus/metrics';
import { router } from '../../core/http';
import { isDomainError } from '../../core/errors';
import { detectProfile, LOG_PLAN, LogAnalyzer, parseLogWatchConfig, PROFILE_NAMES, trackerSink, type LogWatchConfig, type TrackerSink } from '../../core/logwatch';
import { Tracker } from '../../core/tracker/service';
import { validatePlan } from '../../core/plan';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';
import { CliError } from '../errors';
import { fields, outputFormat, renderData, withFormat } from '../output';
import { openStore } from '../local-runtime';
import { checkProfile, explainLine } from '../log-profile';

interface WatchFlags extends SinkFlags {
  format?: string;
  log: string[];
  follow?: boolean;
  config?: string;
  state: string;
  status: string;
  interval: string;
  fromEnd?: boolean;
  metricsPort?: string;
  metricsHost: string;
  profile?: string;
  phase?: string;
  explain?: boolean;
}

/** The first lines of a log that are not blank (for profile detection); none when it does not exist yet or is empty. */
function firstLines(file: string): string[] {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(16 * 1024);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('utf8').split(/\r\n|\r|\n/).slice(0, 20).filter((l) => l.trim());
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
}

/**
 * Wait for a log to get its first lines (the tool has not started writing it yet), then up to 2 s more for up
 * to 20 of them: what profile detection looks at. SIGINT/SIGTERM end the wait (and the watch).
 */
async function awaitFirstLines(file: string, intervalMs: number, stop: AbortController, log: (s: string) => void): Promise<string[]> {
  log(`${file}: waiting for the first lines to pick a profile (--profile names it and skips this)`);
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const pause = () => new Promise<void>((r) => setTimeout(r, intervalMs));
  try {
    let lines: string[] = [];
    while (!stop.signal.aborted && !(lines = firstLines(file)).length) await pause();
    const seen = Date.now();
    while (!stop.signal.aborted && lines.length < 20 && Date.now() - seen < 2000) {
      await pause();
      lines = firstLines(file);
    }
    return lines;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

export const DEFAULT_WATCH_STATE = '.data/log-watch/state.json';

/** Read a log-watch config file (YAML or JSON). Exit 2 naming the file and the problem. */
export function loadWatchConfig(file: string | undefined, defaultMigrationId?: string, overrides: Record<string, unknown> = {}): LogWatchConfig {
  let raw: unknown = {};
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read --config ${file}: ${(e as Error).message}`, 2);
    }
    try {
      raw = YAML.parse(text) ?? {};
    } catch (e) {
      throw new CliError(`--config ${file} is not valid YAML/JSON: ${(e as Error).message}`, 2);
    }
  }
  if (defaultMigrationId) raw = { ...(raw as Record<string, unknown>), defaultMigrationId };
  const set = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  if (Object.keys(set).length) raw = { ...(raw as Record<string, unknown>), ...set };
  try {
    return parseLogWatchConfig(raw);
  } catch (e) {
    if (isDomainError(e)) throw new CliError(`${file ? `--config ${file}: ` : ''}${e.message}`, 2);
    throw e;
  }
}

export interface SinkFlags extends ApiOptions {
  store?: string;
  dataDir?: string;
  redisUrl?: string;
}

/** The tracker the watcher (and `run`) reports to: in-process on a local store, or the tracker API (token / SigV4). */
export async function openLogSink(flags: SinkFlags, actor: string, log: (s: string) => void): Promise<{ sink: TrackerSink; tracker?: Tracker; close: () => Promise<void> }> {
  if (flags.store || flags.dataDir) {
    const { store, description } = await openStore({ store: flags.store ?? 'file', dataDir: flags.dataDir, redisUrl: flags.redisUrl });
    log(`applying updates in-process to the ${description}`);
    const tracker = new Tracker({ store });
    return { sink: trackerSink(tracker, flags.actor ?? actor), tracker, close: () => store.close() };
  }
  const sink = remoteTrackerSink({ clientFor: (id) => clientFrom({ ...flags, migration: id, actor: flags.actor ?? actor }) });
  return { sink, close: async () => undefined };
}

export function registerWatch(program: Command): void {
  withFormat(withApiOptions(
    program
      .command('watch')
      .description('track a migration from its logs, without changing it: tail log files and turn known events into tracker updates')
      .requiredOption('--log <path...>', 'log file(s) to follow (plain text or JSON lines)'),
  )
    .option('--follow', 'keep following the files (rotation and truncation included) until Ctrl-C; default: read what is there and exit')
    .option('--config <file>', 'patterns, phase map and fields (YAML or JSON; see docs/log-tracking.md)')
    .option('--state <file>', 'where read offsets are kept between runs', DEFAULT_WATCH_STATE)
    .option('--status <file>', 'status snapshot written after each batch', 'migration_status.json')
    .option('--interval <ms>', 'poll interval with --follow', '1000')
    .option('--from-end', 'start new files at their end (skip what they already hold)')
    .option('--store <kind>', 'apply updates in this process to a local store (file, memory, redis) instead of calling the tracker API')
    .option('--data-dir <dir>', 'directory of the embedded file store (implies --store file)')
    .option('--redis-url <url>', 'Redis URL for --store redis')
    .option('--metrics-port <port>', 'serve GET /metrics (Prometheus) with what the logs show: events copied, target write failures, cutover pauses, violations')
    .option('--metrics-host <host>', 'address for --metrics-port', '127.0.0.1')
    .option('--profile <name>', `read a migration tool's output (${PROFILE_NAMES.join(', ')}); with --phase and no --profile, detected from the first lines`)
    .option('--phase <id>', 'the phase the lines belong to when they name none (a tool log: pg_restore, rsync...)')
    .option('--explain', 'print which rule matched each line and what it did (stderr)'))
    .action(async (flags: WatchFlags) => {
      const interval = Number(flags.interval);
      if (!Number.isInteger(interval) || interval < 50 || interval > 600_000) throw new CliError(`--interval must be 50-600000 ms (got "${flags.interval}")`, 2);
      const log = (s: string) => process.stderr.write(`watch: ${s}\n`);
      const stop = new AbortController();
      let profile = checkProfile(flags.profile);
      if (!profile && flags.phase) {
        let first = firstLines(flags.log[0]!);
        // Started before the tool: the profile comes from its first lines once it writes them.
        if (!first.length && flags.follow) first = await awaitFirstLines(flags.log[0]!, interval, stop, log);
        profile = detectProfile(first);
      }
      const config = loadWatchConfig(flags.config, flags.migration ?? process.env['MIGRATION_MONITOR_MIGRATION'], { profile, phase: flags.phase });
      // A tool's log tracked onto one phase: a new migration gets that phase as its plan (unless the config has one).
      if (flags.phase && config.plan === LOG_PLAN) config.plan = validatePlan([{ id: flags.phase, name: flags.phase, estimatedDuration: 60 }]);
      const metricsPort = flags.metricsPort === undefined ? undefined : Number(flags.metricsPort);
      if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort <= 65535)) {
        throw new CliError(`--metrics-port must be a port number 0-65535 (got "${flags.metricsPort}")`, 2);
      }
      if (!flags.follow) {
        // One shot reads what is there: a missing file is a mistake, not something to wait for (--follow waits).
        const missing = flags.log.find((p) => !fs.existsSync(p));
        if (missing !== undefined) throw new CliError(`--log ${missing}: no such file (without --follow, watch reads what is there and exits)`, 2);
      }
      const { sink, tracker, close } = await openLogSink(flags, 'log-watcher', log);

      let tailer: LogTailer;
      try {
        tailer = await LogTailer.open({
          paths: flags.log,
          stateFile: flags.state,
          startAt: flags.fromEnd ? 'end' : 'beginning',
          maxLineBytes: config.maxLineBytes,
          onNotice: (n) => log(n.message),
        });
      } catch (e) {
        await close();
        throw new CliError((e as Error).message, 2);
      }
      const observations = metricsPort === undefined ? undefined : metricsFor('local');
      let metricsServer: RunningServer | undefined;
      if (observations) {
        metricsServer = await serveHttp(router([metricsRoute({ sink: observations, tracker })]), { port: metricsPort, host: flags.metricsHost });
        log(`Prometheus metrics on ${metricsServer.url}/metrics`);
      }
      if (profile) log(`reading the lines with the ${profile} profile`);
      const analyzer = new LogAnalyzer({ sink, config, observations, ...(flags.explain ? { explain: (e) => process.stderr.write(`${explainLine(e)}\n`) } : {}) });
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let conflictsShown = 0;
      try {
        const result = await watchLogs({
          tailer,
          analyzer,
          sink,
          statusFile: flags.status,
          follow: flags.follow ?? false,
          intervalMs: interval,
          signal: stop.signal,
          log,
          onBatch: () => {
            const total = analyzer.stats().conflicts;
            const recent = analyzer.conflicts();
            for (const x of recent.slice(Math.max(0, recent.length - (total - conflictsShown)))) log(`CONFLICT ${x.migrationId}/${x.phaseId}: ${x.message}`);
            conflictsShown = total;
          },
        });
        const s = result.stats;
        const summary = { lines: result.lines, matched: s.matched, ignored: s.ignored, malformed: s.malformed, applied: s.applied, refused: s.rejected, conflicts: s.conflicts, statusFile: flags.status };
        const line =
          `read ${result.lines} lines: ${s.matched} matched, ${s.ignored} ignored, ${s.malformed} malformed, ${s.applied} updates applied, ` +
          `${s.rejected} refused, ${s.conflicts} conflicts; status in ${flags.status}`;
        process.stdout.write(`${renderData(summary, outputFormat(flags), (md) => (md ? fields(Object.entries(summary).map(([k, v]) => [k, String(v)]), true) : line))}\n`);
      } catch (e) {
        throw new CliError((e as Error).message, 1);
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        await metricsServer?.close();
        await close();
      }
    });
}
