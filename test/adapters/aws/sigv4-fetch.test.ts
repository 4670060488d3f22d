import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { regionFromHost, sigv4Fetch } from '../../../lib/adapters/aws/sigv4-fetch';
import { TrackerClient } from '../../../lib/adapters/http/tracker-client';
import { clientFrom } from '../../../lib/cli/common';
import { verifySigV4 } from '../../support/sigv4-verifier';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

/** A local server that records what it received and answers JSON. */
async function recorder() {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      seen.push({ method: req.method ?? '', path: u.pathname, query: Object.fromEntries(u.searchParams), headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, migrations: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { seen, url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const verify = (s: Seen, region: string, service: string) => verifySigV4(s, credentials, region, service);

describe('sigv4Fetch', () => {
  it('matches the AWS SigV4 test suite vector (get-vanilla)', async () => {
    let sent: Record<string, string> = {};
    const f = sigv4Fetch({
      service: 'service' as 'lambda',
      region: 'us-east-1',
      credentials,
      now: () => new Date('2015-08-30T12:36:00Z'),
      fetch: async (_u, init) => {
        sent = init.headers;
        return { status: 200, headers: { get: () => null }, text: async () => '' };
      },
    });
    await f('https://example.amazonaws.com/', { method: 'GET', headers: {} });
    expect(sent['authorization']).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('signs method, path, query, headers and body so a verifier accepts exactly what was sent', async () => {
    const srv = await recorder();
    try {
      const f = sigv4Fetch({ region: 'eu-west-1', credentials: { ...credentials, sessionToken: 'session-token' } });
      const body = JSON.stringify({ action: 'update_phase', phaseId: 'data-copy', progress: 42 });
      const res = await f(`${srv.url}/api/migrations/m1/progress?activity=5&b=2`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k1' }, body });
      expect(res.status).toBe(200);
      const s = srv.seen[0]!;
      expect(s.headers['x-amz-security-token']).toBe('session-token');
      expect(s.headers['x-amz-content-sha256']).toBeUndefined();
      expect(s.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^ ]*content-type;host;idempotency-key;x-amz-date;x-amz-security-token/);
      expect(await verify(s, 'eu-west-1', 'execute-api')).toBe(true);
      // A tampered body or another region does not verify: the signature covers them.
      expect(await verify({ ...s, body: body.replace('42', '99') }, 'eu-west-1', 'execute-api')).toBe(false);
      expect(await verify(s, 'us-east-1', 'execute-api')).toBe(false);
    } finally {
      await srv.close();
    }
  });

  it('is the fetch of TrackerClient: every API call arrives signed', async () => {
    const srv = await recorder();
    try {
      const client = new TrackerClient({ url: srv.url, fetch: sigv4Fetch({ region: 'eu-west-1', credentials }) });
      await client.overview();
      expect(srv.seen).toHaveLength(1);
      expect(await verify(srv.seen[0]!, 'eu-west-1', 'execute-api')).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('is what the CLI uses with --sigv4: credentials from the default chain (here: environment variables)', async () => {
    const srv = await recorder();
    const saved = { ...process.env };
    process.env['AWS_ACCESS_KEY_ID'] = credentials.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = credentials.secretAccessKey;
    delete process.env['AWS_SESSION_TOKEN'];
    delete process.env['AWS_PROFILE'];
    try {
      const client = await clientFrom({ url: srv.url, sigv4: true, region: 'eu-west-1', migration: 'm1' });
      await client.overview();
      const s = srv.seen[0]!;
      expect(s.headers['authorization']).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request/);
      expect(await verify(s, 'eu-west-1', 'execute-api')).toBe(true);
    } finally {
      process.env = saved;
      await srv.close();
    }
  });

  it('without credentials in the environment, falls back to the SDK default chain (here: a profile in a shared credentials file)', async () => {
    const srv = await recorder();
    const saved = { ...process.env };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-sigv4-'));
    fs.writeFileSync(path.join(dir, 'credentials'), `[migration]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = ${credentials.secretAccessKey}\n`);
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE']) delete process.env[k];
    process.env['AWS_SHARED_CREDENTIALS_FILE'] = path.join(dir, 'credentials');
    process.env['AWS_CONFIG_FILE'] = path.join(dir, 'config-absent');
    process.env['AWS_PROFILE'] = 'migration';
    try {
      const res = await sigv4Fetch({ region: 'eu-west-1' })(`${srv.url}/api/migrations`, { method: 'GET', headers: {} });
      expect(res.status).toBe(200);
      const s = srv.seen[0]!;
      expect(s.headers['authorization']).toMatch(/Credential=AKIDPROFILE\//);
      expect(await verifySigV4(s, { accessKeyId: 'AKIDPROFILE', secretAccessKey: credentials.secretAccessKey }, 'eu-west-1', 'execute-api')).toBe(true);
    } finally {
      process.env = saved;
      fs.rmSync(dir, { recursive: true, force: true });
      await srv.close();
    }
  });

  it('reads the region from API Gateway and function URL hosts, and refuses to guess otherwise', async () => {
    expect(regionFromHost('abc123.execute-api.eu-central-1.amazonaws.com')).toBe('eu-central-1');
    expect(regionFromHost('xyz.lambda-url.us-gov-west-1.on.aws')).toBe('us-gov-west-1');
    expect(regionFromHost('127.0.0.1')).toBeUndefined();
    const saved = { a: process.env['AWS_REGION'], b: process.env['AWS_DEFAULT_REGION'] };
    delete process.env['AWS_REGION'];
    delete process.env['AWS_DEFAULT_REGION'];
    try {
      await expect(sigv4Fetch({ credentials })('http://127.0.0.1:1/x', { method: 'GET', headers: {} })).rejects.toThrow(/cannot tell the region of 127\.0\.0\.1:1/);
    } finally {
      if (saved.a !== undefined) process.env['AWS_REGION'] = saved.a;
      if (saved.b !== undefined) process.env['AWS_DEFAULT_REGION'] = saved.b;
    }
  });
});
