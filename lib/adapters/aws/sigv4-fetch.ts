import type { FetchLike } from '../http/tracker-client';
import { signRequest, type SigV4Credentials } from './sigv4';

/** Credentials, or a provider that resolves them per request (and caches and refreshes them itself). */
export type CredentialsOrProvider = SigV4Credentials | (() => Promise<SigV4Credentials>);

export interface SigV4FetchOptions {
  /**
   * `execute-api` for an API Gateway HTTP API (the tracker stack), `lambda` for a function URL (which also
   * gets an `x-amz-content-sha256` header, as function URLs want for requests with a body).
   */
  service?: 'execute-api' | 'lambda';
  /** Region of the API; default: taken from the URL host, else AWS_REGION / AWS_DEFAULT_REGION. */
  region?: string;
  /**
   * Default: the environment's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN when set (always
   * the case in Lambda, so handler bundles need no SDK package for this), else the SDK's default chain (SSO,
   * shared config, web identity in CI, instance role).
   */
  credentials?: CredentialsOrProvider;
  /** The fetch that sends the signed request. Default: global fetch. */
  fetch?: FetchLike;
  /** Signing time (tests). Default: now. */
  now?: () => Date;
}

/** `abc.execute-api.eu-west-1.amazonaws.com` / `xyz.lambda-url.eu-west-1.on.aws` → `eu-west-1`. */
export function regionFromHost(host: string): string | undefined {
  return /\.(?:execute-api|lambda-url)\.([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(host)?.[1];
}

/** Environment credentials when present, else the AWS SDK's default provider chain (loaded only then). */
export function defaultCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsOrProvider {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey, ...(env['AWS_SESSION_TOKEN'] ? { sessionToken: env['AWS_SESSION_TOKEN'] } : {}) };
  const { fromNodeProviderChain } = require('@aws-sdk/credential-providers') as typeof import('@aws-sdk/credential-providers');
  return fromNodeProviderChain();
}

/**
 * A fetch that signs every request with AWS Signature Version 4 (headers, body hash), for the IAM-protected
 * tracker API. Pass it to TrackerClient (`new TrackerClient({url, fetch: sigv4Fetch()})`) or call it like
 * fetch. A credential provider is asked on every request (providers cache and refresh themselves).
 */
export function sigv4Fetch(opts: SigV4FetchOptions = {}): FetchLike {
  const service = opts.service ?? 'execute-api';
  const credentials = opts.credentials ?? defaultCredentials();
  const send: FetchLike = opts.fetch ?? (globalThis.fetch as unknown as FetchLike);
  return async (url, init) => {
    const u = new URL(url);
    const region = opts.region ?? regionFromHost(u.hostname) ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
    if (!region) throw new Error(`sigv4: cannot tell the region of ${u.host}: pass region or set AWS_REGION`);
    const creds = typeof credentials === 'function' ? await credentials() : credentials;
    const headers = signRequest(
      { method: init.method, url: u, headers: init.headers, body: init.body },
      { credentials: creds, region, service, date: opts.now?.(), contentSha256Header: service === 'lambda' },
    );
    return send(url, { ...init, headers });
  };
}

/**
 * The CLI's entry (lib/cli/common.ts, `--sigv4`): the service follows from the URL (a Lambda function URL
 * signs for `lambda`, anything else for `execute-api`), credentials from the default chain.
 */
export function createSigV4Fetch(o: { url: string; region?: string }): FetchLike {
  const service = /\.lambda-url\./.test(new URL(o.url).hostname) ? 'lambda' : 'execute-api';
  return sigv4Fetch({ service, region: o.region });
}
