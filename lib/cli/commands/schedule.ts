import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { CliError } from '../errors';
import { fields, outputFormat, renderData, withFormat } from '../output';
import { checkReportFlags, registerReport, type ReportFlags } from './report';

interface ScheduleFlags {
  format?: string;
  time: string;
  days: string;
  install?: boolean;
  remove?: boolean;
  crontabFile?: string;
  envFrom?: string;
  log: string;
  name: string;
  workdir: string;
}

const BIN = path.resolve(__dirname, '../../../bin/migration-monitor.js');

/**
 * `migration-monitor schedule`: the daily report for machines without a cloud scheduler. Prints the
 * crontab line, or installs it (`--install`, replacing an earlier line with the same name, so running it
 * twice leaves one line). Everything after `--` is passed to `migration-monitor report`.
 */
export function registerSchedule(program: Command): void {
  const cmd = program
    .command('schedule')
    .description('Print or install a crontab line that runs `migration-monitor report` every day (args after -- go to report)')
    .argument('[reportArgs...]', 'arguments for `migration-monitor report`, after --')
    .option('--time <HH:MM>', 'time of day, in the machine\'s local time (cron\'s clock)', '08:00')
    .option('--days <cron-dow>', 'cron day-of-week field: * every day, 1-5 weekdays', '*')
    .option('--install', 'install into the crontab (idempotent: replaces the line with the same --name)')
    .option('--remove', 'remove the line with this --name from the crontab')
    .option('--crontab-file <file>', 'edit this file instead of the user\'s crontab (crontab -l / crontab -)')
    // Not --env-file: Node 20 reads that flag from anywhere on the command line.
    .option('--env-from <file>', 'file of VAR=value lines sourced before the run: put MIGRATION_MONITOR_TOKEN, SMTP_PASSWORD, SLACK_WEBHOOK_URL there (chmod 600), never in the crontab')
    .option('--log <file>', 'append the run\'s output here', '.data/reports/cron.log')
    .option('--name <name>', 'names the line (several schedules can coexist)', 'daily-report')
    .option('--workdir <dir>', 'directory the report runs in (relative --path and --log resolve here)', process.cwd());
  withFormat(cmd).action(async (reportArgs: string[], f: ScheduleFlags) => {
      const where = f.crontabFile ?? 'the crontab';
      const say = (data: { name: string; action: 'print' | 'install' | 'remove'; crontab: string; line: string | null }, text: string) =>
        process.stdout.write(`${renderData(data, outputFormat(f), (md) => (md ? fields(Object.entries(data).map(([k, v]) => [k, v ?? '-']), true) : text))}\n`);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(f.name)) throw new CliError(`--name must be 1-64 letters, digits, ".", "_" or "-" (got "${f.name}")`, 2);
      const marker = `# migration-monitor:${f.name}`;
      if (f.remove) {
        const before = readCrontab(f.crontabFile);
        writeCrontab(f.crontabFile, withoutLine(before, marker));
        say({ name: f.name, action: 'remove', crontab: where, line: null }, `removed ${f.name} from ${where}`);
        return;
      }
      checkReportArgs(reportArgs);
      const line = `${cronTime(f.time, f.days)} ${command(f, reportArgs)} ${marker}`;
      if (!f.install) {
        say({ name: f.name, action: 'print', crontab: where, line }, line);
        return;
      }
      const envFile = f.envFrom === undefined ? undefined : path.resolve(f.workdir, f.envFrom);
      if (envFile !== undefined && !fs.existsSync(envFile)) {
        throw new CliError(`--env-from ${envFile}: no such file (the job would fail every run before the report starts)`, 2);
      }
      // cron runs without this shell's environment: the report's settings must hold with the env file alone
      try {
        await checkReportFlags(reportFlags(reportArgs), envFile === undefined ? {} : readEnvFile(envFile));
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        throw new CliError(`the scheduled report could never run: ${e.message}\n(checked with ${envFile ? `the variables in ${envFile}` : 'no --env-from file'}: cron does not see this shell's environment)`, 2);
      }
      fs.mkdirSync(path.dirname(path.resolve(f.workdir, f.log)), { recursive: true });
      const before = readCrontab(f.crontabFile);
      writeCrontab(f.crontabFile, `${withoutLine(before, marker)}${line}\n`);
      say({ name: f.name, action: 'install', crontab: where, line }, `installed in ${where}:\n${line}`);
    });
}

/** `08:00` → `0 8 * * <days>`. */
export function cronTime(time: string, days = '*'): string {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(time);
  if (!m) throw new CliError(`--time must be HH:MM, 00:00-23:59 (got "${time}")`, 2);
  if (!/^(\*|[0-7](-[0-7])?(,[0-7](-[0-7])?)*)$/.test(days)) throw new CliError(`--days must be a cron day-of-week field like *, 1-5 or 1,3,5 (got "${days}")`, 2);
  return `${Number(m[2])} ${Number(m[1])} * * ${days}`;
}

/** POSIX shell single-quoting when needed. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function command(f: ScheduleFlags, reportArgs: string[]): string {
  const workdir = path.resolve(f.workdir);
  const env = f.envFrom ? `set -a && . ${shq(path.resolve(workdir, f.envFrom))} && set +a && ` : '';
  // cron treats an unescaped % as a newline: escape it in the line.
  const cmd = `cd ${shq(workdir)} && ${env}${shq(process.execPath)} ${shq(BIN)} report ${reportArgs.map(shq).join(' ')} >> ${shq(f.log)} 2>&1`;
  return cmd.replace(/%/g, '\\%').replace(/\s+>>/, ' >>');
}

function reportCommand(): Command {
  const probe = new Command();
  registerReport(probe);
  return probe.commands.find((c) => c.name() === 'report')!;
}

/** The flags `report` would see for these arguments (with its defaults). */
function reportFlags(args: string[]): ReportFlags {
  const report = reportCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  try {
    report.parseOptions(args);
  } catch (e) {
    if (e instanceof CommanderError) throw new CliError(`report arguments: ${e.message.replace(/^error: /, '')}`, 2);
    throw e;
  }
  return report.opts<ReportFlags>();
}

/**
 * `VAR=value` lines of an env file as the scheduled shell would set them (`export` prefix, quotes, comments);
 * anything fancier is shell code this check cannot evaluate, and is skipped.
 */
function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s#]*))\s*(?:#.*)?$/.exec(line);
    if (m) env[m[1]!] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return env;
}

/** Refuse flags `report` does not know now, not at 08:00 tomorrow. */
function checkReportArgs(args: string[]): void {
  const known = new Set(reportCommand().options.map((o) => o.long));
  for (const a of args) {
    if (!a.startsWith('--')) continue;
    const flag = a.split('=')[0]!;
    if (!known.has(flag)) throw new CliError(`unknown report option ${flag} (see migration-monitor report --help)`, 2);
    if (flag === '--token') throw new CliError('do not put --token in a crontab: set MIGRATION_MONITOR_TOKEN in the --env-from', 2);
    if (flag === '--dry-run') throw new CliError('a scheduled --dry-run delivers nothing; leave it out', 2);
    if (flag === '--now' || flag === '--report-id') throw new CliError(`a scheduled ${flag} makes every run the same report (delivered once, then "already delivered"); leave it out`, 2);
  }
}

function withoutLine(crontab: string, marker: string): string {
  const kept = crontab.split('\n').filter((l) => l.trim() && !l.endsWith(marker));
  return kept.length ? `${kept.join('\n')}\n` : '';
}

function readCrontab(file: string | undefined): string {
  if (file) return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const r = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  if (r.error) throw new CliError(`cannot run crontab (${r.error.message}); is cron installed? Print the line without --install and add it yourself`, 1);
  // "no crontab for <user>" is exit 1 with nothing on stdout: an empty crontab.
  return r.status === 0 ? r.stdout : '';
}

function writeCrontab(file: string | undefined, content: string): void {
  if (file) {
    fs.writeFileSync(file, content);
    return;
  }
  const r = spawnSync('crontab', ['-'], { input: content, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new CliError(`crontab refused the new table: ${r.error?.message ?? r.stderr.trim()}`, 1);
}
