import type { Command } from 'commander';
import YAML from 'yaml';
import { TrackerClient } from '../adapters/http/tracker-client';
import { EnvError } from '../compose/env';
import { trackerAccess } from '../compose/tracker-access';
import { CliError } from './errors';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ApiOptions {
  url?: string;
  token?: string;
  migration?: string;
  actor?: string;
  sigv4?: boolean;
  region?: string;
}

/** Adds --url, --token, --migration, --actor, --sigv4 (with their environment variables) to a command. */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'tracker API URL (env MIGRATION_MONITOR_URL)')
    .option('--token <token>', 'bearer token (env MIGRATION_MONITOR_TOKEN)')
    .option('--migration <id>', 'migration id (env MIGRATION_MONITOR_MIGRATION; default: the server default)')
    .option('--actor <name>', 'who is making the change, recorded in the activity log (env MIGRATION_MONITOR_ACTOR)')
    .option('--sigv4', 'sign requests with AWS SigV4 (IAM-protected tracker API on AWS; env MIGRATION_MONITOR_SIGV4=1)')
    .option('--region <region>', 'AWS region for --sigv4 (default AWS_REGION)');
}

/** Build a TrackerClient from flags and environment: flags become the variables `trackerAccess` reads. */
export async function clientFrom(opts: ApiOptions): Promise<TrackerClient> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.url !== undefined) env['MIGRATION_MONITOR_URL'] = opts.url;
  if (opts.token !== undefined) env['MIGRATION_MONITOR_TOKEN'] = opts.token;
  if (opts.migration !== undefined) env['MIGRATION_MONITOR_MIGRATION'] = opts.migration;
  if (opts.sigv4) env['MIGRATION_MONITOR_SIGV4'] = 'true';
  let access;
  try {
    access = (await trackerAccess(env, 'migration-monitor', { defaultUrl: DEFAULT_URL, ...(opts.region ? { region: opts.region } : {}) }))!;
  } catch (e) {
    if (e instanceof EnvError) throw new CliError(cliWords(e.message), 2);
    throw e;
  }
  return new TrackerClient({ ...access, actor: opts.actor ?? process.env['MIGRATION_MONITOR_ACTOR'] ?? `cli:${process.env['USER'] ?? 'unknown'}` });
}

/** The composition's variable names, as the CLI user knows them (flag or variable). */
function cliWords(message: string): string {
  return message
    .replace(/^migration-monitor: bad environment: /, '')
    .replace(/MIGRATION_MONITOR_URL: Invalid URL/, '--url (or MIGRATION_MONITOR_URL) is not a valid URL')
    .replace(/MIGRATION_MONITOR_SIGV4 needs a region: AWS_REGION \(or --region\)/, '--sigv4 needs a region: pass --region or set AWS_REGION');
}

export type OutputFormat = 'table' | 'json' | 'yaml' | 'markdown';
export const FORMATS: OutputFormat[] = ['table', 'json', 'yaml', 'markdown'];

export function parseFormat(v: string | undefined, fallback: OutputFormat = 'table'): OutputFormat {
  const f = (v ?? fallback) as OutputFormat;
  if (!FORMATS.includes(f)) throw new CliError(`--format must be one of ${FORMATS.join(', ')} (got "${v}")`, 2);
  return f;
}

/** Render rows as an aligned text table or a Markdown table. */
export function table(headers: string[], rows: string[][], markdown = false): string {
  if (markdown) {
    const esc = (c: string) => c.replace(/\|/g, '\\|');
    return [`| ${headers.map(esc).join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - visibleLength(c)))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const visibleLength = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

export function toYaml(v: unknown): string {
  return YAML.stringify(v);
}

/** A text progress bar: [#########-----------] */
export function progressBar(pct: number, width = 20): string {
  const filled = Math.round((Math.max(0, Math.min(100, pct)) / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}
