import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { amzDate, canonicalPath, canonicalQuery, signRequest, uriEncode } from '../../../lib/adapters/aws/sigv4';
import { prng } from '../../../lib/core/random';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const suiteDate = new Date('2015-08-30T12:36:00Z');

/** The same request signed by @smithy/signature-v4 (what the AWS SDK uses): an independent implementation. */
async function smithySign(url: URL, method: string, headers: Record<string, string>, body: string | undefined, o: { region: string; service: string; date: Date; creds: typeof credentials & { sessionToken?: string } }) {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const signer = new SignatureV4({ service: o.service, region: o.region, credentials: o.creds, sha256: Sha256, applyChecksum: false });
  const signed = await signer.sign(
    { method, protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname, query, headers: { ...headers, host: url.host }, body },
    { signingDate: o.date },
  );
  return signed.headers['authorization'];
}

describe('SigV4 signer (node:crypto)', () => {
  it('matches the AWS SigV4 test suite: get-vanilla and post-vanilla', () => {
    const get = signRequest({ method: 'GET', url: 'https://example.amazonaws.com/' }, { credentials, region: 'us-east-1', service: 'service', date: suiteDate });
    expect(get['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
    expect(get['x-amz-date']).toBe('20150830T123600Z');
    expect(get['host']).toBeUndefined(); // fetch sets it from the URL
    const post = signRequest({ method: 'POST', url: 'https://example.amazonaws.com/' }, { credentials, region: 'us-east-1', service: 'service', date: suiteDate });
    expect(post['authorization']).toMatch(/Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b$/);
  });

  it('encodes like RFC 3986, double-encodes the path, normalizes dot segments and sorts the query', () => {
    expect(uriEncode("a b!'()*~-_.é/")).toBe('a%20b%21%27%28%29%2A~-_.%C3%A9%2F');
    expect(canonicalPath('/api/migrations/a%20b/./x/../progress')).toBe('/api/migrations/a%2520b/progress');
    expect(canonicalPath('/a//b/')).toBe('/a/b/');
    expect(canonicalPath('/')).toBe('/');
    expect(canonicalQuery(new URLSearchParams('b=2&a=z&a=y&c=%20+x&B=1'))).toBe('B=1&a=y&a=z&b=2&c=%20%20x');
    expect(amzDate(new Date('2026-11-24T06:07:08.123Z'))).toBe('20261124T060708Z');
  });

  it('signs the session token and, when asked, the body hash; leaves hop-by-hop headers unsigned', () => {
    const h = signRequest(
      { method: 'post', url: 'https://x.lambda-url.eu-west-1.on.aws/api/progress', headers: { 'Content-Type': 'application/json', 'User-Agent': 'cli', Authorization: 'stale' }, body: '{}' },
      { credentials: { ...credentials, sessionToken: 'tok' }, region: 'eu-west-1', service: 'lambda', date: suiteDate, contentSha256Header: true },
    );
    expect(h['x-amz-security-token']).toBe('tok');
    expect(h['x-amz-content-sha256']).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    expect(h['user-agent']).toBe('cli');
    expect(h['authorization']).toMatch(/SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
  });

  it('agrees with @smithy/signature-v4 on 300 generated requests (odd paths, repeated and unicode query keys, spaced header values)', async () => {
    const rnd = prng(20261124);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const alphabet = ['a', 'Z', '9', ' ', '-', '_', '.', '~', '!', "'", '(', ')', '*', '+', '=', '&', ':', '@', ',', ';', '$', 'é', '日', '%'];
    const word = (n: number) => Array.from({ length: 1 + Math.floor(rnd() * n) }, () => pick(alphabet)).join('');
    for (let i = 0; i < 300; i++) {
      const path = Array.from({ length: Math.floor(rnd() * 4) }, () => encodeURIComponent(word(6))).join('/') + (rnd() < 0.2 ? '/' : '');
      const params = new URLSearchParams();
      for (let q = Math.floor(rnd() * 5); q > 0; q--) params.append(pick(['a', 'b', 'B', 'x y', word(3)]), word(5));
      const url = new URL(`https://abc.execute-api.eu-west-1.amazonaws.com/${path}${params.size ? `?${params}` : ''}`);
      const method = pick(['GET', 'POST', 'PUT', 'DELETE']);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-migration-id': `  m ${i}   tenant\t a ` };
      if (rnd() < 0.5) headers['idempotency-key'] = word(8).trim() || 'k';
      const body = method === 'GET' ? undefined : JSON.stringify({ i, text: word(20) });
      const creds: typeof credentials & { sessionToken?: string } = rnd() < 0.5 ? { ...credentials, sessionToken: `token-${i}` } : credentials;
      const date = new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 3e10));
      const ours = signRequest({ method, url, headers, body }, { credentials: creds, region: 'eu-west-1', service: 'execute-api', date });
      const theirs = await smithySign(url, method, { ...headers, 'x-amz-date': amzDate(date), ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}) }, body, { region: 'eu-west-1', service: 'execute-api', date, creds });
      if (ours['authorization'] !== theirs) throw new Error(`request ${i} (${method} ${url.href}) signs differently:\n ours   ${ours['authorization']}\n smithy ${theirs}`);
    }
  });
});
