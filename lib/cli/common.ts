import type { Command } from 'commander';
import { nodeHttpFetch } from '../adapters/http/node-fetch';
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
  // access.fetch (SigV4) wins; otherwise node:http, which starts faster than the global fetch
  return new TrackerClient({ fetch: nodeHttpFetch, ...access, actor: opts.actor ?? process.env['MIGRATION_MONITOR_ACTOR'] ?? `cli:${process.env['USER'] ?? 'unknown'}` });
}

/** The composition's variable names, as the CLI user knows them (flag or variable). */
function cliWords(message: string): string {
  return message
    .replace(/^migration-monitor: bad environment: /, '')
    .replace(/MIGRATION_MONITOR_URL: Invalid URL/, '--url (or MIGRATION_MONITOR_URL) is not a valid URL')
    .replace(/MIGRATION_MONITOR_SIGV4 needs a region: AWS_REGION \(or --region\)/, '--sigv4 needs a region: pass --region or set AWS_REGION');
}

export { FORMATS, table, type OutputFormat } from './output';

export function toYaml(v: unknown): string {
  // loaded on use: most runs never print YAML
  return (require('yaml') as typeof import('yaml')).stringify(v);
}

/** A text progress bar: [#########-----------] */
export function progressBar(pct: number, width = 20): string {
  const filled = Math.round((Math.max(0, Math.min(100, pct)) / 100) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}
