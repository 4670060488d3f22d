import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { FetchLike } from '../http/tracker-client';

export interface SigV4FetchOptions {
  /**
   * `execute-api` for an API Gateway HTTP API (the tracker stack), `lambda` for a function URL (which also
   * gets an `x-amz-content-sha256` header, as function URLs want for requests with a body).
   */
  service?: 'execute-api' | 'lambda';
  /** Region of the API; default: taken from the URL host, else AWS_REGION / AWS_DEFAULT_REGION. */
  region?: string;
  /** Credentials; default: the SDK's default chain (env, SSO, shared config, web identity in CI, instance role). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The fetch that sends the signed request. Default: global fetch. */
  fetch?: FetchLike;
  /** Signing time (tests). Default: now. */
  now?: () => Date;
}

/** `abc.execute-api.eu-west-1.amazonaws.com` / `xyz.lambda-url.eu-west-1.on.aws` → `eu-west-1`. */
export function regionFromHost(host: string): string | undefined {
  return /\.(?:execute-api|lambda-url)\.([a-z]{2}(?:-[a-z]+)+-\d)\./.exec(host)?.[1];
}

/**
 * A fetch that signs every request with AWS Signature Version 4 (headers, body hash), for the IAM-protected
 * tracker API. Pass it to TrackerClient (`new TrackerClient({url, fetch: sigv4Fetch()})`) or call it like
 * fetch. Credentials are resolved per request through the provider (it caches and refreshes them).
 */
export function sigv4Fetch(opts: SigV4FetchOptions = {}): FetchLike {
  const service = opts.service ?? 'execute-api';
  const credentials = opts.credentials ?? fromNodeProviderChain();
  const send: FetchLike = opts.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const signers = new Map<string, SignatureV4>();
  const signerFor = (region: string) => {
    let s = signers.get(region);
    if (!s) signers.set(region, (s = new SignatureV4({ service, region, credentials, sha256: Sha256, applyChecksum: service === 'lambda' })));
    return s;
  };
  return async (url, init) => {
    const u = new URL(url);
    const region = opts.region ?? regionFromHost(u.hostname) ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
    if (!region) throw new Error(`sigv4: cannot tell the region of ${u.host}: pass region or set AWS_REGION`);
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of u.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const headers: Record<string, string> = { host: u.host };
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
    const signed = await signerFor(region).sign({
      method: init.method,
      protocol: u.protocol,
      hostname: u.hostname,
      port: u.port ? Number(u.port) : undefined,
      path: u.pathname,
      query,
      headers,
      body: init.body,
    }, opts.now ? { signingDate: opts.now() } : undefined);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = String(v);
    return send(url, { ...init, headers: out });
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
