/** The OAuth access token of the service account the code runs as (Cloud Run metadata server), cached until a minute before expiry. */
export const METADATA_TOKEN_URL = 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token';

let cached: { token: string; until: number } | null = null;

export async function metadataAccessToken(url = METADATA_TOKEN_URL, f: typeof fetch = fetch, now = Date.now): Promise<string> {
  if (cached && cached.until > now()) return cached.token;
  const res = await f(url, { headers: { 'metadata-flavor': 'Google' }, signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`metadata server answered ${res.status} for an access token: ${body.slice(0, 200)}`);
  const parsed = JSON.parse(body) as { access_token?: unknown; expires_in?: unknown };
  if (typeof parsed.access_token !== 'string' || typeof parsed.expires_in !== 'number') throw new Error('the metadata server did not return an access token');
  cached = { token: parsed.access_token, until: now() + (parsed.expires_in - 60) * 1000 };
  return cached.token;
}
