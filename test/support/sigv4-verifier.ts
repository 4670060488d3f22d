import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { serveHttp } from '../../lib/adapters/http/server';
import { json, type HttpHandler } from '../../lib/core/http';

export interface ReceivedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased names. */
  headers: Record<string, string | undefined>;
  body?: string;
}

export interface VerifierCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Verify a request the way API Gateway's IAM authorization does: re-sign what arrived (the headers listed in
 * SignedHeaders only, at the x-amz-date it carries) with @smithy/signature-v4, an implementation independent
 * of ours, and compare the Authorization headers.
 */
export async function verifySigV4(r: ReceivedRequest, credentials: VerifierCredentials, region: string, service: string): Promise<boolean> {
  const auth = r.headers['authorization'] ?? '';
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const amzDate = r.headers['x-amz-date'];
  if (!amzDate || !signedHeaders.length) return false;
  const headers: Record<string, string> = {};
  for (const h of signedHeaders) headers[h] = r.headers[h] ?? '';
  const date = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256, applyChecksum: false });
  const again = await signer.sign(
    { method: r.method, protocol: 'http:', hostname: '127.0.0.1', path: r.path, query: r.query, headers, body: r.body || undefined },
    { signingDate: date },
  );
  return again.headers['authorization'] === auth;
}

/**
 * A stand-in for an IAM-authorized API Gateway on 127.0.0.1: requests whose SigV4 signature verifies reach
 * `inner` (with Authorization removed, as API Gateway does not pass IAM auth on as a bearer token); others
 * get 403 like `{"message":"Forbidden"}`. `principal` gives the caller's ARN, which API Gateway passes on as
 * `requestContext.authorizer.iam.userArn` (the tracker's authenticated actor).
 */
export async function startIamGateway(inner: HttpHandler, credentials: VerifierCredentials, region: string, service = 'execute-api', principal?: () => string) {
  const seen = { verified: 0, rejected: 0 };
  const server = await serveHttp(async (req) => {
    if (!(await verifySigV4(req, credentials, region, service))) {
      seen.rejected++;
      return json(403, { message: 'The request signature we calculated does not match the signature you provided.' });
    }
    seen.verified++;
    const { authorization: _auth, ...headers } = req.headers;
    return inner({ ...req, headers, ...(principal ? { principal: principal() } : {}) });
  });
  return { url: server.url, seen, close: () => server.close() };
}
