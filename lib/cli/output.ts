import type { Command } from 'commander';
import { CliError } from './errors';

/**
 * Terminal conventions shared by every command: one output switch (`-o, --format`), colour only on a TTY
 * unless NO_COLOR / FORCE_COLOR say otherwise, and tables that fit the terminal width.
 */

export type OutputFormat = 'table' | 'json' | 'yaml' | 'markdown';
export const FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml', 'markdown'];

/** The variable that global `-o/--format` (before the sub-command) sets: the default of every command's `--format`. */
export const FORMAT_ENV = 'MIGRATION_MONITOR_FORMAT';

/**
 * Adds `-o, --format <f>` (and, when the command had it, the deprecated `--json`) to a command. Read the
 * choice with `outputFormat(opts)`.
 */
export function withFormat(cmd: Command, allowed: readonly OutputFormat[] = FORMATS, legacyJson = false): Command {
  cmd.option('-o, --format <format>', `output: ${allowed.join(', ')} (env ${FORMAT_ENV}; default ${allowed[0]})`);
  if (legacyJson) cmd.option('--json', 'deprecated: same as --format json');
  return cmd;
}

/** The output format of a command run: --format, else deprecated --json, else the global/env default, else the first allowed. */
export function outputFormat(opts: { format?: string; json?: boolean }, allowed: readonly OutputFormat[] = FORMATS, env: NodeJS.ProcessEnv = process.env): OutputFormat {
  if (opts.json && opts.format === undefined) {
    process.stderr.write('migration-monitor: --json is deprecated: use --format json (or -o json)\n');
    return 'json';
  }
  const v = opts.format ?? env[FORMAT_ENV] ?? allowed[0]!;
  if (!(allowed as readonly string[]).includes(v)) throw new CliError(`--format must be one of ${allowed.join(', ')} (got "${v}")`, 2);
  return v as OutputFormat;
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
