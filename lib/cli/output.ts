import { InvalidArgumentError, Option, type Command } from 'commander';
import { CliError } from './errors';

/**
 * Terminal conventions shared by every command: one output switch (`-o, --format`), colour only on a TTY
 * unless NO_COLOR / FORCE_COLOR say otherwise, and tables that fit the terminal width.
 */

export type OutputFormat = 'table' | 'json' | 'yaml' | 'markdown';
export const FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml', 'markdown'];

/** The variable that global `-o/--format` (before the sub-command) sets: the default of every command's `--format`. */
export const FORMAT_ENV = 'MIGRATION_MONITOR_FORMAT';

/** What an old spelling of `--format`/`-o` (another meaning before the one switch) now does. */
export interface LegacyFormatValue {
  /** The one-line notice printed on stderr (after "migration-monitor: "). */
  notice: string;
  /** The output format the run uses. */
  format: OutputFormat;
  /** Carries the old meaning over to the command's options (e.g. `--output <file>`). */
  apply?: (cmd: Command) => void;
}

export interface FormatSettings {
  /** The format when neither -o/--format nor the global one (env MIGRATION_MONITOR_FORMAT) says. Default table. */
  default?: OutputFormat;
  /** The command had `--json`: kept as a deprecated alias of `-o json`. */
  legacyJson?: boolean;
  /** What the switch formats, when that needs saying (shown in --help). */
  what?: string;
  /** A value outside the formats that meant something else before this switch: its deprecated reading, or undefined. */
  legacy?: (value: string) => LegacyFormatValue | undefined;
}

/** Commands that got the output switch from `withFormat` (the CLI's conventions test walks them). */
export const FORMATTED = new WeakSet<Command>();

const parseFormat = (legacy: FormatSettings['legacy']) => (v: string) => {
  if ((FORMATS as readonly string[]).includes(v) || legacy?.(v)) return v;
  throw new InvalidArgumentError(`must be one of ${FORMATS.join(', ')}`);
};

/**
 * Adds the one output switch `-o, --format table|json|yaml|markdown` to a command (and, when the command had
 * it, the deprecated `--json`). Before the action runs, the choice is resolved once (flag, else the global
 * `-o` / MIGRATION_MONITOR_FORMAT, else the command's default) and a bad value stops the run with a usage
 * error: nothing has happened yet. Read it with `outputFormat(opts)`.
 */
export function withFormat(cmd: Command, settings: FormatSettings = {}): Command {
  const def = settings.default ?? 'table';
  const what = settings.what ? ` (${settings.what})` : '';
  cmd.addOption(new Option('-o, --format <format>', `output${what}: ${FORMATS.join(', ')} (default ${def}; a global -o before the command sets it for every command)`).argParser(parseFormat(settings.legacy)));
  if (settings.legacyJson) cmd.option('--json', 'deprecated: same as -o json');
  FORMATTED.add(cmd);
  cmd.hook('preAction', (_hooked, actionCommand) => {
    if (actionCommand !== cmd) return;
    const opts = cmd.opts<{ format?: string; json?: boolean }>();
    // 'cli' when the command's own -o/--format said it (not the global one, not the default)
    cmd.setOptionValue('formatSource', opts.format === undefined ? undefined : cmd.getOptionValueSource('format'));
    let v = opts.format;
    if (v === undefined && opts.json) {
      process.stderr.write('migration-monitor: --json is deprecated: use --format json (or -o json)\n');
      v = 'json';
    }
    const given = v !== undefined || process.env[FORMAT_ENV] !== undefined;
    v ??= process.env[FORMAT_ENV] ?? def;
    if (!(FORMATS as readonly string[]).includes(v)) {
      const old = settings.legacy?.(v);
      if (!old) throw new CliError(`${FORMAT_ENV} must be one of ${FORMATS.join(', ')} (got "${v}")`, 2);
      process.stderr.write(`migration-monitor: ${old.notice}\n`);
      old.apply?.(cmd);
      v = old.format;
    }
    cmd.setOptionValue('format', v);
    cmd.setOptionValue('formatGiven', given);
  });
  return cmd;
}

/** The output format of a command run, as resolved before its action (see withFormat). */
export function outputFormat(opts: { format?: string }, env: NodeJS.ProcessEnv = process.env): OutputFormat {
  const v = opts.format ?? env[FORMAT_ENV] ?? 'table';
  if (!(FORMATS as readonly string[]).includes(v)) throw new CliError(`--format must be one of ${FORMATS.join(', ')} (got "${v}")`, 2);
  return v as OutputFormat;
}

/**
 * One record in any output format: JSON and YAML carry the record itself; table and markdown get the
 * readable rendering the command gives (`text(markdown)`).
 */
export function renderData(data: unknown, format: OutputFormat, text: (markdown: boolean) => string): string {
  if (format === 'json') return JSON.stringify(data, null, 2);
  if (format === 'yaml') return (require('yaml') as typeof import('yaml')).stringify(data).trimEnd();
  return text(format === 'markdown');
}

/** Key/value pairs as a two-column table (text or Markdown). */
export function fields(pairs: Array<[string, string]>, markdown: boolean, width = terminalWidth()): string {
  return table(['Field', 'Value'], pairs, markdown, width);
}

/** Colour for a stream: NO_COLOR (any non-empty value) wins, then FORCE_COLOR (not "0"), then "is it a TTY". */
export function useColor(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR']) return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '') return env['FORCE_COLOR'] !== '0' && env['FORCE_COLOR'] !== 'false';
  return !!stream.isTTY;
}

/** The width output should fit: the terminal's columns, else COLUMNS, else unlimited (a pipe or a file). */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  if (stream.isTTY && stream.columns) return stream.columns;
  const c = Number(env['COLUMNS']);
  return Number.isInteger(c) && c > 20 ? c : Infinity;
}

const ANSI = /\x1b\[[0-9;]*m/g;
export const visibleLength = (s: string) => s.replace(ANSI, '').length;

/** Cut a cell to `n` visible characters with an ellipsis (colour codes dropped from a cut cell). */
export function truncate(s: string, n: number): string {
  if (visibleLength(s) <= n) return s;
  const plain = s.replace(ANSI, '');
  return n <= 1 ? plain.slice(0, n) : `${plain.slice(0, n - 1)}…`;
}

/**
 * Rows as an aligned text table (fitting `width`: the widest columns are cut first, never below 8 characters)
 * or a Markdown table (never cut).
 */
export function table(headers: string[], rows: string[][], markdown = false, width = Infinity): string {
  if (markdown) {
    const esc = (c: string) => c.replace(/\|/g, '\\|');
    return [`| ${headers.map(esc).join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > width) {
    const i = widths.indexOf(Math.max(...widths));
    if (widths[i]! <= 8) break;
    widths[i] = Math.max(8, widths[i]! - (total() - width));
  }
  const line = (cells: string[]) =>
    cells
      .map((c, i) => truncate(c, widths[i]!))
      .map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Render a list of records in any output format: JSON/YAML get the records, table/markdown get the columns. */
export function renderList<T>(items: T[], format: OutputFormat, columns: Array<[header: string, cell: (x: T) => string]>, width = terminalWidth()): string {
  if (format === 'json') return JSON.stringify(items, null, 2);
  if (format === 'yaml') return (require('yaml') as typeof import('yaml')).stringify(items).trimEnd();
  if (!items.length) return format === 'markdown' ? '_none_' : '(none)';
  return table(
    columns.map(([h]) => h),
    items.map((x) => columns.map(([, cell]) => cell(x))),
    format === 'markdown',
    width,
  );
}

/** "3m", "2h 5m", "4d 1h": how long ago an ISO time was. */
export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
