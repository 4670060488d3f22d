/**
 * Calls from GCP to the tracker API on AWS without long-lived keys: the Cloud Run handler asks the metadata
 * server for a Google-signed ID token of its own service account, exchanges it at AWS STS
 * (AssumeRoleWithWebIdentity; the role trusts accounts.google.com for that account's unique id, see
 * lib/constructs/aws/gcp-keyless-role.ts) for short-lived credentials; `sigv4Fetch({ credentials })` from
 * ../aws/sigv4-fetch signs each request with them.
 */
import { STSClient, AssumeRoleWithWebIdentityCommand } from '@aws-sdk/client-sts';
import { systemClock, type Clock } from '../../core/clock';

export const METADATA_IDENTITY_URL = 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface WebIdentityOptions {
  /** Role to assume, e.g. arn:aws:iam::123456789012:role/mm-gcp-keyless. */
  roleArn: string;
  /** AWS region of STS (regional endpoint). */
  region: string;
  /** Audience of the Google ID token; the role's `accounts.google.com:oaud` condition. Default `sts.amazonaws.com`. */
  audience?: string;
  /** Metadata identity endpoint; overridable for tests (or MM_GCP_METADATA_URL). */
  metadataUrl?: string;
  /** STS endpoint override (tests). */
  stsEndpoint?: string;
  /** 900-43200 seconds. Default 3600. */
  durationSeconds?: number;
  /** Refresh this long before expiry. Default 5 minutes. */
  refreshBeforeMs?: number;
  clock?: Clock;
  fetch?: typeof fetch;
}

/** The Google-signed ID token of the service account the code runs as (Cloud Run / GCE metadata server). */
export async function fetchGoogleIdToken(audience: string, metadataUrl = process.env['MM_GCP_METADATA_URL'] ?? METADATA_IDENTITY_URL, f: typeof fetch = fetch): Promise<string> {
  const url = `${metadataUrl}?audience=${encodeURIComponent(audience)}&format=full`;
  let res: Response;
  try {
    res = await f(url, { headers: { 'Metadata-Flavor': 'Google' }, signal: AbortSignal.timeout(5000) });
  } catch (e) {
    throw new Error(`cannot reach the GCP metadata server at ${metadataUrl} (not running on GCP?): ${(e as Error).message}`, { cause: e });
  }
  const body = await res.text();
  if (res.status !== 200) throw new Error(`metadata server answered ${res.status} for an ID token: ${body.slice(0, 200)}`);
  if (res.headers.get('metadata-flavor') !== 'Google') throw new Error('the metadata server answer lacks "Metadata-Flavor: Google": refusing it');
  const token = body.trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new Error('the metadata server did not return a JWT');
  return token;
}

/**
 * The role session name the keyless role accepts: the ID token's `sub` claim (a Google service account's unique
 * id). The claim is read, not verified: STS verifies the token, and the trust policy refuses any other name.
 */
export function sessionNameOf(token: string): string {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    throw new Error('the Google ID token has no readable claims (not a JWT)');
  }
  const sub = (claims as { sub?: unknown } | null)?.sub;
  if (typeof sub !== 'string' || !/^[\w+=,.@-]{2,64}$/.test(sub)) throw new Error(`the Google ID token's sub claim (${JSON.stringify(sub)}) cannot be a role session name (2-64 of letters, digits and +=,.@_-)`);
  return sub;
}

/**
 * A credential provider (the AWS SDK's `AwsCredentialIdentityProvider` shape) that keeps short-lived role
 * credentials and renews them before they expire. Concurrent callers share one renewal.
 */
export function webIdentityCredentials(opts: WebIdentityOptions): () => Promise<AwsCredentials> {
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(opts.roleArn)) throw new Error(`"${opts.roleArn}" is not an IAM role ARN`);
  const clock = opts.clock ?? systemClock;
  const refreshBefore = opts.refreshBeforeMs ?? 5 * 60_000;
  const sts = new STSClient({
    region: opts.region,
    ...(opts.stsEndpoint ? { endpoint: opts.stsEndpoint } : {}),
    // AssumeRoleWithWebIdentity is an unsigned call: the Google token is the proof.
    credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' },
  });
  let current: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  const renew = async (): Promise<AwsCredentials> => {
    const token = await fetchGoogleIdToken(opts.audience ?? 'sts.amazonaws.com', opts.metadataUrl, opts.fetch);
    const out = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: opts.roleArn,
        // The role's trust policy requires the session to be named after the token's subject (the service
        // account's unique id): the tracker then records the verified identity as the actor.
        RoleSessionName: sessionNameOf(token),
        WebIdentityToken: token,
        DurationSeconds: opts.durationSeconds ?? 3600,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error('STS AssumeRoleWithWebIdentity returned no credentials');
    current = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: new Date(c.Expiration) };
    return current;
  };
  return async () => {
    if (current && current.expiration.getTime() - refreshBefore > clock.now()) return current;
    pending ??= renew().finally(() => (pending = undefined));
    return pending;
  };
}
