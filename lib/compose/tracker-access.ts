/**
 * How any runtime reaches the tracker API: the one place that turns variables into a URL, a signing fetch or
 * a bearer token. Three ways, chosen in this order:
 *
 * 1. keyless from GCP: `MIGRATION_MONITOR_AWS_ROLE_ARN` (+ `_AWS_REGION`, `_AWS_AUDIENCE`) → the metadata
 *    server's Google ID token → STS AssumeRoleWithWebIdentity → SigV4 with the short-lived credentials;
 * 2. ambient IAM: `MIGRATION_MONITOR_SIGV4=true` → SigV4 with the runtime's own credentials (Lambda role,
 *    the CLI user's default chain);
 * 3. a bearer token: `MIGRATION_MONITOR_TOKEN`, or the Secrets Manager secret `MIGRATION_MONITOR_TOKEN_SECRET_ARN`.
 *
 * The GCP stack's older names (`MM_TRACKER_URL`, `MM_TRACKER_TOKEN`, `MM_TRACKER_AWS_*`) are aliases.
 */
import * as z from '../core/zod';
import type { FetchLike, TrackerClientOptions } from '../adapters/http/tracker-client';
import { envFlag, parseEnv, EnvError, type Aliases } from './env';
import { secretFromEnv } from './secrets';

export const TRACKER_ALIASES: Aliases = {
  MIGRATION_MONITOR_URL: ['MM_TRACKER_URL'],
  MIGRATION_MONITOR_TOKEN: ['MM_TRACKER_TOKEN'],
  MIGRATION_MONITOR_AWS_ROLE_ARN: ['MM_TRACKER_AWS_ROLE_ARN'],
  MIGRATION_MONITOR_AWS_REGION: ['MM_TRACKER_AWS_REGION'],
  MIGRATION_MONITOR_AWS_AUDIENCE: ['MM_TRACKER_AWS_AUDIENCE'],
};

export const trackerEnvSchema = z.object({
  MIGRATION_MONITOR_URL: z.optional(z.url()),
  MIGRATION_MONITOR_TOKEN: z.optional(z.string().check(z.minLength(1))),
  MIGRATION_MONITOR_TOKEN_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  MIGRATION_MONITOR_MIGRATION: z.optional(z.string().check(z.minLength(1))),
  MIGRATION_MONITOR_SIGV4: z._default(envFlag, false),
  MIGRATION_MONITOR_AWS_ROLE_ARN: z.optional(z.string().check(z.regex(/^arn:aws[\w-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN'))),
  MIGRATION_MONITOR_AWS_REGION: z.optional(z.string().check(z.minLength(1))),
  MIGRATION_MONITOR_AWS_AUDIENCE: z._default(z.string().check(z.minLength(1)), 'sts.amazonaws.com'),
});

export type TrackerAuth = 'web-identity' | 'sigv4' | 'token' | 'none';

/** Everything a TrackerClient needs but the actor. */
export interface TrackerAccess extends Omit<TrackerClientOptions, 'actor'> {
  auth: TrackerAuth;
}

export interface TrackerAccessOptions {
  /** URL when the environment names none (the CLI's local default). Without it, no URL → undefined. */
  defaultUrl?: string;
  /** AWS region for ambient SigV4 when the URL does not tell (the CLI's --region). */
  region?: string;
}

/** The tracker as this environment reaches it, or undefined when no URL is configured. */
export async function trackerAccess(env: NodeJS.ProcessEnv, who: string, opts: TrackerAccessOptions = {}): Promise<TrackerAccess | undefined> {
  const e = parseEnv(trackerEnvSchema, env, who, TRACKER_ALIASES);
  const url = e.MIGRATION_MONITOR_URL ?? opts.defaultUrl;
  if (!url) return undefined;
  const base = { url, ...(e.MIGRATION_MONITOR_MIGRATION ? { migrationId: e.MIGRATION_MONITOR_MIGRATION } : {}) };
  if (e.MIGRATION_MONITOR_AWS_ROLE_ARN) return { ...base, auth: 'web-identity', fetch: await webIdentityFetch(e, url, who) };
  if (e.MIGRATION_MONITOR_SIGV4) {
    const { sigv4Fetch, regionFromHost } = require('../adapters/aws/sigv4-fetch') as typeof import('../adapters/aws/sigv4-fetch');
    const region = opts.region ?? regionFromHost(new URL(url).hostname) ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
    if (!region) throw new EnvError(`${who}: bad environment: MIGRATION_MONITOR_SIGV4 needs a region: AWS_REGION (or --region)`);
    const service = /\.lambda-url\./.test(new URL(url).hostname) ? 'lambda' : 'execute-api';
    return { ...base, auth: 'sigv4', fetch: sigv4Fetch({ service, region }) };
  }
  const token = await secretFromEnv({ MIGRATION_MONITOR_TOKEN: e.MIGRATION_MONITOR_TOKEN, MIGRATION_MONITOR_TOKEN_SECRET_ARN: e.MIGRATION_MONITOR_TOKEN_SECRET_ARN }, 'MIGRATION_MONITOR_TOKEN');
  return token ? { ...base, auth: 'token', token } : { ...base, auth: 'none' };
}

async function webIdentityFetch(e: z.output<typeof trackerEnvSchema>, url: string, who: string): Promise<FetchLike> {
  // GCP → AWS only: the AWS Lambda bundles define MM_BUNDLE_OMIT_GCP, so esbuild drops this branch there.
  if (process.env.MM_BUNDLE_OMIT_GCP === 'true') {
    throw new EnvError(`${who}: bad environment: MIGRATION_MONITOR_AWS_ROLE_ARN is the keyless path from GCP; on AWS set MIGRATION_MONITOR_SIGV4=true`);
  } else {
    const { sigv4Fetch, regionFromHost } = require('../adapters/aws/sigv4-fetch') as typeof import('../adapters/aws/sigv4-fetch');
    const { webIdentityCredentials } = require('../adapters/gcp/aws-web-identity') as typeof import('../adapters/gcp/aws-web-identity');
    const region = e.MIGRATION_MONITOR_AWS_REGION ?? regionFromHost(new URL(url).hostname);
    if (!region) throw new EnvError(`${who}: bad environment: MIGRATION_MONITOR_AWS_ROLE_ARN needs MIGRATION_MONITOR_AWS_REGION (the tracker's AWS region)`);
    const credentials = webIdentityCredentials({ roleArn: e.MIGRATION_MONITOR_AWS_ROLE_ARN!, region, audience: e.MIGRATION_MONITOR_AWS_AUDIENCE });
    return sigv4Fetch({ credentials, region });
  }
}
