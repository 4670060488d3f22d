/**
 * AWS Signature Version 4 (header form) on node:crypto, for the few HTTP calls this project signs itself:
 * the IAM-protected tracker API (CLI `--sigv4`, the validation and log-ingest handlers, the GCP handlers
 * through keyless credentials). Written from the published algorithm so Lambda bundles do not carry a
 * general-purpose signer and its protocol runtime (~140 KB minified); the tests check it against the AWS
 * test-suite vector and against @smithy/signature-v4 on many requests.
 *
 * canonical request = METHOD \n path \n query \n headers \n\n signed-header-list \n hex(sha256(body))
 * string to sign    = AWS4-HMAC-SHA256 \n amz-date \n date/region/service/aws4_request \n hex(sha256(canonical request))
 * signing key       = HMAC chain of "AWS4"+secret over date, region, service, "aws4_request"
 */
import { createHash, createHmac } from 'node:crypto';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for temporary credentials (roles, Lambda execution environments): sent and signed as x-amz-security-token. */
  sessionToken?: string;
}

export interface SigV4Options {
  credentials: SigV4Credentials;
  region: string;
  /** `execute-api` (API Gateway), `lambda` (function URLs), `sts`, … */
  service: string;
  /** Signing time. Default: now. */
  date?: Date;
  /** Also send the body hash as x-amz-content-sha256 (function URLs want it for requests with a body). */
  contentSha256Header?: boolean;
}

export interface SignableRequest {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Headers a proxy may add, drop or rewrite on the way: never part of the signature. */
const UNSIGNED_HEADERS = new Set([
  'authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id',
]);
const isUnsigned = (name: string) => UNSIGNED_HEADERS.has(name) || name.startsWith('proxy-') || name.startsWith('sec-');

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding: everything but A-Z a-z 0-9 - _ . ~ as %XX (encodeURIComponent leaves !'()* alone). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The path as every service but S3 wants it: dot segments and empty segments removed, then each segment
 * encoded once more (the URL's path is already percent-encoded, so `%20` is signed as `%2520`).
 */
export function canonicalPath(pathname: string): string {
  const segments: string[] = [];
  for (const seg of pathname.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = segments.length > 0 && pathname.endsWith('/') ? '/' : '';
  return `/${segments.map(uriEncode).join('/')}${trailing}`;
}

/** Parameters sorted by encoded name, then by encoded value; `name=value` joined by `&`. */
export function canonicalQuery(params: URLSearchParams): string {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of params) pairs.push([uriEncode(k), uriEncode(v)]);
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** `20150830T123600Z` */
export const amzDate = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');

/**
 * Sign a request: returns the headers to send (the caller's, lower-cased, plus x-amz-date, authorization,
 * x-amz-security-token and x-amz-content-sha256 when they apply). `host` is signed but left out of the
 * answer, since fetch sets it from the URL.
 */
export function signRequest(req: SignableRequest, o: SigV4Options): Record<string, string> {
  const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
  const longDate = amzDate(o.date ?? new Date());
  const shortDate = longDate.slice(0, 8);
  const payloadHash = sha256Hex(req.body ?? '');

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  for (const k of ['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) delete headers[k];
  headers['x-amz-date'] = longDate;
  if (o.credentials.sessionToken) headers['x-amz-security-token'] = o.credentials.sessionToken;
  if (o.contentSha256Header) headers['x-amz-content-sha256'] = payloadHash;

  const signable: Record<string, string> = { ...headers, host: url.host };
  const names = Object.keys(signable).filter((n) => !isUnsigned(n)).sort();
  const canonicalHeaders = names.map((n) => `${n}:${signable[n]!.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').trim()}\n`).join('');
  const signedHeaders = names.join(';');

  const canonicalRequest = [req.method.toUpperCase(), canonicalPath(url.pathname), canonicalQuery(url.searchParams), canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${shortDate}/${o.region}/${o.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', longDate, scope, sha256Hex(canonicalRequest)].join('\n');

  let key: Buffer = hmac(`AWS4${o.credentials.secretAccessKey}`, shortDate);
  for (const part of [o.region, o.service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');

  headers['authorization'] = `AWS4-HMAC-SHA256 Credential=${o.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
