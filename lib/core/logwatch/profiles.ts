/**
 * Built-in profiles: what the migration tools teams use actually print, mapped onto tracker updates. Each is
 * plain data in the config schema users write (`patterns`): `migration-monitor run --print-profile <name>`
 * prints one as YAML to copy and adapt. Actions name no phase: they apply to the phase the lines belong to
 * (`run --phase`, `watch --phase`, or the config's `phase`).
 *
 * Completion: under `run` the tool's exit code completes or fails the phase (lines that say "done" only
 * move progress below 100 %). Under `watch` a profile's final-summary line completes it where the tool
 * prints one (pgloader, rsync -v / --stats, DMS "All tables are loaded"); pg_dump and pg_restore print none.
 */
import type { LogPatternInput } from './pattern';

export interface LogProfile {
  description: string;
  /** Executable names (basename of the command `run` starts) that select this profile. */
  commands: string[];
  /** A line of the tool's first output lines matching one of these selects the profile. */
  detect: string[];
  config: { patterns: LogPatternInput[] };
}

const SIZE = String.raw`[\d.,]+ ?[kKMGTP]?i?B`;
const pgItem = String.raw`"(?<item>[^"]+)"`;

export const BUILTIN_PROFILES: Record<string, LogProfile> = {
  pg_dump: {
    description: 'pg_dump --verbose: one unit per table ("dumping contents of table"), weighted by table size with run --source-url',
    commands: ['pg_dump'],
    detect: ['^pg_dump: '],
    config: {
      patterns: [
        { name: 'pg_dump table', regex: `^pg_dump: dumping contents of table ${pgItem}`, actions: [{ do: 'item', state: 'start', completesPrevious: true }] },
        { name: 'pg_dump error', regex: '^pg_dump: error: ', actions: [{ do: 'count_failure' }] },
        { name: 'pg_dump step', regex: '^pg_dump: ', actions: [{ do: 'progress' }] },
      ],
    },
  },
  pg_restore: {
    description: 'pg_restore --verbose: tables declared by "creating TABLE", one unit each ("processing data for table"), weighted by size with run --source-url',
    commands: ['pg_restore'],
    detect: ['^pg_restore: '],
    config: {
      patterns: [
        { name: 'pg_restore table declared', regex: `^pg_restore: creating TABLE ${pgItem}`, actions: [{ do: 'item', state: 'declare' }] },
        { name: 'pg_restore table data', regex: `^pg_restore: processing data for table ${pgItem}`, actions: [{ do: 'item', state: 'start', completesPrevious: true }] },
        { name: 'pg_restore table done', regex: String.raw`^pg_restore: finished item \d+ TABLE DATA (?<item>\S+)`, actions: [{ do: 'item', state: 'done' }] },
        { name: 'pg_restore error', regex: '^pg_restore: error: ', actions: [{ do: 'count_failure' }] },
        { name: 'pg_restore step', regex: '^pg_restore: ', actions: [{ do: 'progress' }] },
      ],
    },
  },
  pgloader: {
    description: 'pgloader (--verbose for per-table lines): tables weighted by estimated rows, the final summary adds rows, bytes and errors',
    commands: ['pgloader'],
    detect: [String.raw`^\S+Z (?:LOG|NOTICE) (?:pgloader version|Starting pgloader)`],
    config: {
      patterns: [
        {
          name: 'pgloader table copy',
          regex: String.raw`\bNOTICE COPY (?<item>"[^"]+"\."[^"]+"|\S+) with (?<rows_estimated>\d+) rows estimated`,
          actions: [{ do: 'item', state: 'start', weight: 'rows_estimated' }],
        },
        { name: 'pgloader table done', regex: String.raw`\bNOTICE DONE copying (?<item>"[^"]+"\."[^"]+"|\S+)`, actions: [{ do: 'item', state: 'done' }] },
        {
          name: 'pgloader summary table',
          regex: String.raw`^\s*(?<item>"[^"]+"\."[^"]+")\s+(?<errors>\d+)\s+(?:\d+\s+)?(?<rows>\d+)\s+(?<bytes>${SIZE})\s`,
          actions: [{ do: 'item', state: 'done' }, { do: 'data', field: 'bytes', cumulative: false, rows: 'rows', errors: 'errors' }],
        },
        { name: 'pgloader total', regex: String.raw`^\s*Total import time\s`, actions: [{ do: 'complete_phase' }] },
        { name: 'pgloader error', regex: String.raw`^\S+Z (?:ERROR|FATAL) (?<error>.*)`, actions: [{ do: 'alert', severity: 'warning', message: 'pgloader: {error}' }] },
        { name: 'pgloader step', regex: String.raw`^\S+Z (?:LOG|NOTICE) `, actions: [{ do: 'progress' }] },
      ],
    },
  },
  rsync: {
    description: 'rsync --info=progress2 (bytes, percent, rate, ETA); with -v or --stats the closing "total size is" line completes the phase',
    commands: ['rsync'],
    detect: [String.raw`^\s*[\d,]+\s+\d{1,3}%\s+\S+/s\s+\d+:\d\d:\d\d`, '^sending incremental file list'],
    config: {
      patterns: [
        {
          name: 'rsync progress',
          regex: String.raw`^\s*(?<bytes>[\d,]+)\s+(?<progress>\d{1,3})%\s+(?<rate>\S+/s)\s+(?<eta>\d+:\d\d:\d\d)`,
          actions: [{ do: 'data', field: 'bytes' }, { do: 'progress' }],
        },
        { name: 'rsync summary', regex: String.raw`^total size is (?<total>[\d,]+)\s+speedup is`, actions: [{ do: 'complete_phase' }] },
        { name: 'rsync error', regex: String.raw`^rsync(?::| error:) (?<error>.*)`, actions: [{ do: 'count_failure' }, { do: 'alert', severity: 'warning', message: 'rsync: {error}' }] },
      ],
    },
  },
  rclone: {
    description: 'rclone --stats (text or --stats-one-line) and --use-json-log: bytes of total, percent; errors counted',
    commands: ['rclone'],
    detect: [String.raw`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?:INFO|NOTICE|ERROR|DEBUG)\s*:`, String.raw`^\{.*"source":"[a-z]+/[a-z_]+\.go:\d+"`, String.raw`^Transferred:\s`],
    config: {
      patterns: [
        {
          name: 'rclone json stats',
          fields: { 'stats.totalBytes': { regex: String.raw`^\d+$` } },
          actions: [{ do: 'data', field: 'stats.bytes' }, { do: 'progress', done: 'stats.bytes', total: 'stats.totalBytes' }],
        },
        { name: 'rclone json error', fields: { level: 'error' }, actions: [{ do: 'count_failure' }, { do: 'alert', severity: 'warning', message: 'rclone: {msg} {object}' }] },
        {
          name: 'rclone stats',
          regex: String.raw`(?:^Transferred:|INFO\s*:)\s+(?<bytes>${SIZE}) / (?<bytes_total>${SIZE}), (?<progress>\d{1,3})%`,
          actions: [{ do: 'data', field: 'bytes' }, { do: 'progress', done: 'bytes', total: 'bytes_total' }],
        },
        { name: 'rclone error', regex: String.raw`\bERROR\s*:\s*(?<error>.*)`, actions: [{ do: 'count_failure' }, { do: 'alert', severity: 'warning', message: 'rclone: {error}' }] },
        { name: 'rclone copied', regex: String.raw`\bINFO\s*:\s*\S.*: Copied`, actions: [{ do: 'progress' }] },
      ],
    },
  },
  'aws-s3': {
    description: 'aws s3 sync / cp / mv progress lines ("Completed X/Y ... remaining"): progress and bytes from them, each object line a sign of life, failed objects alerted',
    commands: [],
    detect: [String.raw`^Completed ${SIZE}/${SIZE}`, String.raw`^(?:upload|download|copy): \S+ to \S+`],
    config: {
      patterns: [
        {
          name: 's3 progress',
          regex: String.raw`^Completed (?<bytes>${SIZE})/(?<bytes_total>${SIZE})(?:~)? \((?<rate>[^)]+)\) with (?<remaining>\d+) file\(s\) remaining`,
          actions: [{ do: 'data', field: 'bytes' }, { do: 'progress', done: 'bytes', total: 'bytes_total' }],
        },
        { name: 's3 object failed', regex: String.raw`^(?:upload|download|copy|move) failed: (?<item>\S+) to \S+ (?<error>.*)`, actions: [{ do: 'count_failure' }, { do: 'alert', severity: 'warning', message: 'aws s3: {item}: {error}' }] },
        // Not a unit: aws prints an object only as it finishes, never the ones to come, so a share of them would claim 100 %.
        { name: 's3 object', regex: String.raw`^(?:upload|download|copy|move): (?<item>\S+) to \S+`, actions: [{ do: 'progress' }] },
      ],
    },
  },
  'aws-dms': {
    description: 'AWS DMS task logs (as CloudWatch delivers them) and describe-table-statistics rows (one JSON object per line, e.g. jq -c ".TableStatistics[]")',
    commands: [],
    detect: [String.raw`\[(?:TASK_MANAGER|SOURCE_UNLOAD|TARGET_LOAD|SOURCE_CAPTURE|TARGET_APPLY)\s*\][IWEDT]:`, String.raw`^\{.*"TableState":`],
    config: {
      patterns: [
        { name: 'dms table load started', regex: String.raw`\]I:\s+Start loading table '(?<schema>[^']+)'\.'(?<table>[^']+)'`, actions: [{ do: 'item', state: 'start', item: '{schema}.{table}' }] },
        {
          name: 'dms table loaded',
          regex: String.raw`\]I:\s+Load finished for table '(?<schema>[^']+)'\.'(?<table>[^']+)' \(Id = \d+\)\. (?<rows>\d+) rows received\.(?: (?<skipped>\d+) rows skipped\.)?(?: Volume transfer+ed (?<bytes>\d+)\.)?`,
          actions: [{ do: 'item', state: 'done', item: '{schema}.{table}' }, { do: 'data', field: 'bytes', cumulative: false, rows: 'rows' }],
        },
        { name: 'dms full load done', regex: String.raw`\]I:\s+All tables are loaded`, actions: [{ do: 'complete_phase' }] },
        { name: 'dms error', regex: String.raw`\]E:\s+(?<error>.*)`, actions: [{ do: 'count_failure' }, { do: 'alert', severity: 'error', message: 'DMS: {error}' }] },
        { name: 'dms table statistics: loading', fields: { TableState: { regex: '^(Full load|Before load|Table is being reloaded)$' } }, actions: [{ do: 'item', state: 'start', item: '{SchemaName}.{TableName}' }] },
        { name: 'dms table statistics: completed', fields: { TableState: 'Table completed' }, actions: [{ do: 'item', state: 'done', item: '{SchemaName}.{TableName}' }] },
        {
          name: 'dms table statistics: error',
          fields: { TableState: { regex: '^Table (error|cancelled)$' } },
          actions: [{ do: 'item', state: 'fail', item: '{SchemaName}.{TableName}' }, { do: 'alert', severity: 'error', message: 'DMS table {SchemaName}.{TableName}: {TableState} ({FullLoadErrorRows} error rows)' }],
        },
        { name: 'dms task', regex: String.raw`\]I:\s`, actions: [{ do: 'progress' }] },
      ],
    },
  },
  mysqldump: {
    description: 'mysqldump --verbose (MariaDB/MySQL client): one unit per table ("Retrieving table structure for table")',
    commands: ['mysqldump', 'mariadb-dump'],
    detect: ['^-- Connecting to ', '^-- Retrieving table structure for table '],
    config: {
      patterns: [
        { name: 'mysqldump table', regex: String.raw`^-- Retrieving table structure for table (?<item>\S+?)\.\.\.`, actions: [{ do: 'item', state: 'start', completesPrevious: true }] },
        { name: 'mysqldump step', regex: '^-- ', actions: [{ do: 'progress' }] },
        { name: 'mysqldump error', regex: String.raw`^mysqldump: (?:Got error|Couldn't|Error)`, actions: [{ do: 'count_failure' }] },
      ],
    },
  },
};

export const PROFILE_NAMES = Object.keys(BUILTIN_PROFILES);

const compiledDetect = Object.entries(BUILTIN_PROFILES).map(([name, p]) => ({ name, res: p.detect.map((d) => new RegExp(d)) }));

/** The profile whose detection patterns match one of these (first) lines, in line order. */
export function detectProfile(lines: string[]): string | undefined {
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    for (const { name, res } of compiledDetect) if (res.some((r) => r.test(line))) return name;
  }
  return undefined;
}

/** The AWS CLI's global options that take a value (`aws --profile prod s3 sync ...`). */
const AWS_VALUED_OPTIONS = new Set(['--endpoint-url', '--profile', '--region', '--output', '--query', '--color', '--ca-bundle', '--cli-read-timeout', '--cli-connect-timeout', '--cli-binary-format']);

/** The AWS CLI's service (`s3` in `aws --endpoint-url URL s3 sync ...`): the first word that is neither an option nor its value. */
function awsService(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) return a;
    if (AWS_VALUED_OPTIONS.has(a)) i++;
  }
  return undefined;
}

/** The profile for a command (`run -- pg_restore ...`, also `aws s3 ...`), from its executable name. */
export function profileForCommand(argv: string[]): string | undefined {
  const exe = (argv[0] ?? '').split('/').pop() ?? '';
  if (exe === 'aws' && awsService(argv.slice(1)) === 's3') return 'aws-s3';
  return Object.entries(BUILTIN_PROFILES).find(([, p]) => p.commands.includes(exe))?.[0];
}
