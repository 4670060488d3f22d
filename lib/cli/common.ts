import type { Command } from 'commander';
import YAML from 'yaml';
import { TrackerClient, type FetchLike } from '../adapters/http/tracker-client';
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

/** Build a TrackerClient from flags and environment. */
export async function clientFrom(opts: ApiOptions): Promise<TrackerClient> {
  const url = opts.url ?? process.env['MIGRATION_MONITOR_URL'] ?? DEFAULT_URL;
  try {
    new URL(url);
  } catch {
    throw new CliError(`--url is not a valid URL: ${url}`, 2);
  }
  let fetchImpl: FetchLike | undefined;
  if (opts.sigv4 || process.env['MIGRATION_MONITOR_SIGV4'] === '1') {
    fetchImpl = await sigv4Fetch(url, opts.region ?? process.env['AWS_REGION']);
  }
  return new TrackerClient({
    url,
    token: opts.token ?? process.env['MIGRATION_MONITOR_TOKEN'],
    migrationId: opts.migration ?? process.env['MIGRATION_MONITOR_MIGRATION'],
    actor: opts.actor ?? process.env['MIGRATION_MONITOR_ACTOR'] ?? `cli:${process.env['USER'] ?? 'unknown'}`,
    fetch: fetchImpl,
  });
}

async function sigv4Fetch(url: string, region: string | undefined): Promise<FetchLike> {
  if (!region) throw new CliError('--sigv4 needs a region: pass --region or set AWS_REGION', 2);
  // Loaded lazily: only IAM users pay for the AWS SDK's start-up.
  const modPath = '../adapters/aws/sigv4-fetch';
  const mod = (await import(modPath)) as { createSigV4Fetch?: (o: { region: string; url: string }) => FetchLike };
  if (!mod.createSigV4Fetch) throw new CliError('SigV4 signing is not available in this build', 2);
  return mod.createSigV4Fetch({ region, url });
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
