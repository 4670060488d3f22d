import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../../lib/core/clock';
import { sigv4Fetch } from '../../../lib/adapters/aws/sigv4-fetch';
import { fetchGoogleIdToken, sessionNameOf, webIdentityCredentials } from '../../../lib/adapters/gcp/aws-web-identity';
import { TrackerClient } from '../../../lib/adapters/http/tracker-client';
import { verifySigV4 } from '../../support/sigv4-verifier';

type Req = { method: string; url: string; headers: http.IncomingHttpHeaders; body: string };
async function server(handle: (r: Req, res: http.ServerResponse) => void) {
  const seen: Req[] = [];
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(r);
      handle(r, res);
    });
  });
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((ok) => (s.close(() => ok()), s.closeAllConnections())) };
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJzdHMuYW1hem9uYXdzLmNvbSIsInN1YiI6IjEwNjQ4In0.c2lnbmF0dXJl';
const clock = new ManualClock(Date.UTC(2026, 2, 2, 7, 0, 0));

describe('keyless GCP → AWS credentials', () => {
  // Stand-ins for the two endpoints that only exist in the clouds: the GCE/Cloud Run metadata server and STS.
  let metadata: Awaited<ReturnType<typeof server>>;
  let sts: Awaited<ReturnType<typeof server>>;
  let issued = 0;
  beforeAll(async () => {
    metadata = await server((r, res) => {
      if (r.headers['metadata-flavor'] !== 'Google') return res.writeHead(403).end('Missing Metadata-Flavor:Google header.');
      res.writeHead(200, { 'Metadata-Flavor': 'Google', 'content-type': 'application/text' }).end(JWT);
    });
    sts = await server((r, res) => {
      const p = new URLSearchParams(r.body);
      if (p.get('Action') !== 'AssumeRoleWithWebIdentity' || p.get('WebIdentityToken') !== JWT) return res.writeHead(400).end('<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad</Message></Error></ErrorResponse>');
      issued++;
      const exp = new Date(clock.now() + 3600_000).toISOString();
      res.writeHead(200, { 'content-type': 'text/xml' }).end(
        `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAEXAMPLE${issued}</AccessKeyId><SecretAccessKey>secret${issued}</SecretAccessKey><SessionToken>session${issued}</SessionToken><Expiration>${exp}</Expiration></Credentials><Provider>accounts.google.com</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r${issued}</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
      );
    });
  });
  afterAll(async () => {
    await metadata.close();
    await sts.close();
  });

  const provider = () =>
    webIdentityCredentials({ roleArn: 'arn:aws:iam::123456789012:role/mm-gcp-keyless', region: 'eu-west-1', metadataUrl: `${metadata.url}/identity`, stsEndpoint: sts.url, clock });

  it('fetches the ID token from the metadata server with the Metadata-Flavor header and the audience', async () => {
    expect(await fetchGoogleIdToken('sts.amazonaws.com', `${metadata.url}/identity`)).toBe(JWT);
    expect(metadata.seen.at(-1)!.url).toBe('/identity?audience=sts.amazonaws.com&format=full');
    await expect(fetchGoogleIdToken('x', 'http://127.0.0.1:1/identity')).rejects.toThrow(/cannot reach the GCP metadata server/);
  });

  it('exchanges it at STS (AssumeRoleWithWebIdentity) and caches the credentials until shortly before expiry', async () => {
    const get = provider();
    const [a, b] = await Promise.all([get(), get()]);
    expect(a).toEqual({ accessKeyId: expect.stringMatching(/^ASIAEXAMPLE/), secretAccessKey: expect.any(String), sessionToken: expect.any(String), expiration: expect.any(Date) });
    expect(b).toBe(a);
    const call = new URLSearchParams(sts.seen.at(-1)!.body);
    expect(Object.fromEntries(call)).toMatchObject({ Action: 'AssumeRoleWithWebIdentity', RoleArn: 'arn:aws:iam::123456789012:role/mm-gcp-keyless', RoleSessionName: '10648', DurationSeconds: '3600', WebIdentityToken: JWT });
    // unsigned call: the token is the proof
    expect(sts.seen.at(-1)!.headers['authorization']).toBeUndefined();
    clock.advance(50 * 60_000);
    expect(await get()).toBe(a);
    clock.advance(6 * 60_000); // within 5 minutes of expiry: renew
    const c = await get();
    expect(c.accessKeyId).not.toBe(a.accessKeyId);
  });

  it('signs tracker calls with SigV4 so that the signature verifies with the same credentials', async () => {
    const get = provider();
    const tracker = await server((_r, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"migrationId":"m1"}'));
    try {
      const client = new TrackerClient({ url: tracker.url, fetch: sigv4Fetch({ credentials: get, region: 'eu-west-1' }) });
      await client.overview();
      const r = tracker.seen[0]!;
      const creds = await get();
      expect(r.headers['authorization']).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/\\d{8}/eu-west-1/execute-api/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$`));
      expect(r.headers['x-amz-security-token']).toBe(creds.sessionToken);
      // Recompute the signature the way API Gateway does, from what arrived.
      const u = new URL(r.url, tracker.url);
      const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v === undefined ? undefined : String(v)]));
      expect(await verifySigV4({ method: r.method, path: u.pathname, query: Object.fromEntries(u.searchParams), headers, body: r.body }, creds, 'eu-west-1', 'execute-api')).toBe(true);
    } finally {
      await tracker.close();
    }
  });

  it('names the role session after the token\'s subject (what the trust policy requires), and refuses a token whose subject cannot be one', () => {
    expect(sessionNameOf(JWT)).toBe('10648');
    const jwt = (claims: unknown) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
    expect(sessionNameOf(jwt({ sub: '103984732984732984732', email: 'x@y.iam.gserviceaccount.com' }))).toBe('103984732984732984732');
    expect(() => sessionNameOf(jwt({ email: 'x@y.iam.gserviceaccount.com' }))).toThrow(/sub claim \(undefined\) cannot be a role session name/);
    expect(() => sessionNameOf(jwt({ sub: 'has space' }))).toThrow(/cannot be a role session name/);
    expect(() => sessionNameOf(jwt({ sub: 'x'.repeat(65) }))).toThrow(/cannot be a role session name/);
    expect(() => sessionNameOf('e30.!!!.c2ln')).toThrow(/no readable claims/);
  });

  it('refuses a role that is not an IAM role ARN', () => {
    expect(() => webIdentityCredentials({ roleArn: 'mm-role', region: 'eu-west-1' })).toThrow(/not an IAM role ARN/);
  });
});
