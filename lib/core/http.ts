import { DomainError, isDomainError } from './errors';
import { LIMITS } from './model';
import { nameServerSpan, type Span } from './tracing';

/**
 * A runtime-neutral HTTP exchange. The local node:http server, the Lambda (API Gateway v2 / function URL)
 * entry and Cloud Run all translate to and from these, so routes are written once in core.
 */
export interface HttpRequest {
  method: string;
  /** Path without query string, e.g. `/api/migration/progress`. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Raw body text (already base64-decoded), or undefined. */
  body?: string;
  /**
   * The caller's identity as the runtime verified it before the request got here (the IAM principal API Gateway
   * checked the signature of). Set only by runtime adapters, never from a header; undefined when there is none.
   */
  principal?: string;
  /**
   * The request's server span when tracing is on (set by traceHttp): routes hand it to what they call as the
   * parent of their spans. Undefined when tracing is off.
   */
  span?: Span;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type HttpHandler = (req: HttpRequest) => Promise<HttpResponse>;

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers },
  body: JSON.stringify(value),
});

export const text = (status: number, body: string, contentType = 'text/plain; charset=utf-8'): HttpResponse => ({
  status,
  headers: { 'content-type': contentType, 'cache-control': 'no-store' },
  body,
});

/** `application/json` or a `+json` type, with or without parameters. */
function isJsonContentType(ct: string | undefined): boolean {
  return ct !== undefined && /^application\/(.+\+)?json\s*(;|$)/i.test(ct);
}

/**
 * Parse a JSON body: 415 for a non-JSON content type, 413 when too large, 400 when nested deeper than
 * `LIMITS.maxJsonDepth` (checked on the text before parsing, so nothing downstream recurses into a hostile
 * depth), 400 naming the syntax problem.
 */
export function parseJsonBody(req: HttpRequest, maxBytes: number = LIMITS.maxBodyBytes): unknown {
  const ct = req.headers['content-type'];
  if (ct && !isJsonContentType(ct)) {
    throw new DomainError('unsupported_media_type', `content-type must be application/json (got "${ct}")`);
  }
  checkBodyEncoding(req.headers);
  const body = req.body ?? '';
  if (Buffer.byteLength(body) > maxBytes) throw new DomainError('payload_too_large', `request body exceeds ${maxBytes} bytes`);
  if (!body.trim()) throw new DomainError('bad_request', 'request body is empty: expected a JSON object');
  if (jsonDepthExceeds(body, LIMITS.maxJsonDepth)) {
    throw new DomainError('json_too_deep', `request body is nested deeper than ${LIMITS.maxJsonDepth} levels of objects and arrays`);
  }
  try {
    return JSON.parse(body);
  } catch (e) {
    throw new DomainError('bad_request', `malformed JSON body: ${(e as Error).message}`);
  }
}

/**
 * Bodies are read as UTF-8 text: one declared compressed (`Content-Encoding`) or in another charset is refused
 * with 415 naming what was declared, never decoded as UTF-8 into something the client did not send.
 */
export function checkBodyEncoding(headers: Record<string, string>): void {
  const enc = headers['content-encoding']?.trim().toLowerCase();
  if (enc && enc !== 'identity') {
    throw new DomainError('unsupported_media_type', `Content-Encoding "${headers['content-encoding']}" is not supported: send the body uncompressed`);
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new DomainError('unsupported_media_type', `charset "${charset}" is not supported: send the body as UTF-8`);
  }
}

/** True when the JSON text opens more than `max` objects/arrays inside each other (brackets in strings do not count). One pass, no recursion. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  // Fewer opening brackets than the limit, in strings or not: it cannot be that deep (native search, no scan
  // per character: a write batch of vectors is mostly digits).
  let opened = 0;
  for (let i = text.indexOf('['); i !== -1 && opened <= max; i = text.indexOf('[', i + 1)) opened++;
  for (let i = text.indexOf('{'); i !== -1 && opened <= max; i = text.indexOf('{', i + 1)) opened++;
  if (opened <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * The Host values a server bound to `host`:`port` answers to: the loopback names and the bound name, with the
 * port (and without it on port 80). Null for a wildcard bind, whose names cannot be known (it needs a token).
 */
export function allowedHosts(host: string, port: number): ReadonlySet<string> | null {
  if (WILDCARD_HOSTS.has(host)) return null;
  const bound = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const names = new Set([...LOOPBACK_NAMES, bound.toLowerCase()]);
  const out = new Set<string>();
  for (const n of names) {
    out.add(`${n}:${port}`);
    if (port === 80) out.add(n);
  }
  return out;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Local mode's defences against web pages the user happens to open (the server is on 127.0.0.1, often
 * without a token): a `Host` that is not this server's name is a DNS-rebinding page (421), and a
 * state-changing request must declare `Content-Type: application/json`, which a page from another origin
 * cannot send without a CORS preflight this server never grants (no-cors fetch, sendBeacon and forms: 415).
 */
export function checkBrowserSafety(req: HttpRequest, hosts: ReadonlySet<string> | null): void {
  if (hosts) {
    const host = (req.headers['host'] ?? '').toLowerCase();
    if (!hosts.has(host)) {
      throw new DomainError('misdirected_request', `Host "${req.headers['host'] ?? ''}" is not this server (expected one of ${[...hosts].join(', ')})`);
    }
  }
  if (!SAFE_METHODS.has(req.method) && !isJsonContentType(req.headers['content-type'])) {
    throw new DomainError(
      'unsupported_media_type',
      `${req.method} needs Content-Type: application/json (got ${req.headers['content-type'] ? `"${req.headers['content-type']}"` : 'none'})`,
    );
  }
}

export interface Route {
  method: string;
  /** Exact path, or a pattern with `:name` segments. */
  path: string;
  handler: (req: HttpRequest, params: Record<string, string>) => Promise<HttpResponse>;
}

/** Error body shape used by every endpoint: `{error: {code, message, details?}}`. */
export function errorResponse(e: unknown, onServerError?: (e: unknown) => void): HttpResponse {
  if (isDomainError(e)) {
    const headers: Record<string, string> = e.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
    if (e.replayed) headers['idempotent-replayed'] = 'true';
    return json(e.status, { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } }, headers);
  }
  onServerError?.(e);
  return json(500, { error: { code: 'internal', message: 'internal server error' } });
}

/** 405 with the methods that are allowed in the Allow header, body in the shape of errorResponse. */
export function methodNotAllowed(allowed: string[], message: string): HttpResponse {
  const res = errorResponse(new DomainError('method_not_allowed', message));
  res.headers['allow'] = allowed.join(', ');
  return res;
}

/** The route template each request matched, set by `router` (HTTP metrics label by it, never by the raw path). */
const matchedRoutes = new WeakMap<HttpRequest, string>();

/** The route template (`/api/migrations/:id/dashboard`) the router matched for this request, if any. */
export const matchedRoute = (req: HttpRequest): string | undefined => matchedRoutes.get(req);

/** One answered request, as HTTP metrics record it: the route template, never the raw path. */
export interface AnsweredRequest {
  method: string;
  /** The matched route template, or `unmatched` (404, or refused before routing). */
  route: string;
  status: number;
  seconds: number;
}

/** A small router: exact and `:param` matches; 404 for unknown paths, 405 (with Allow) for wrong methods. */
export function router(routes: Route[], onServerError?: (e: unknown) => void): HttpHandler {
  const compiled = routes.map((r) => ({ ...r, parts: r.path.split('/') }));
  return async (req) => {
    try {
      const parts = req.path.split('/');
      const allowed: string[] = [];
      for (const r of compiled) {
        const params = match(r.parts, parts);
        if (!params) continue;
        if (r.method !== req.method && !(r.method === 'GET' && req.method === 'HEAD')) {
          allowed.push(r.method);
          continue;
        }
        nameServerSpan(req.span, r.method, r.path);
        matchedRoutes.set(req, r.path);
        return await r.handler(req, params);
      }
      if (allowed.length) return methodNotAllowed(allowed, `${req.method} is not allowed on ${req.path} (allowed: ${allowed.join(', ')})`);
      throw new DomainError('not_found', `no route for ${req.method} ${req.path}`);
    } catch (e) {
      return errorResponse(e, onServerError);
    }
  };
}

function match(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) {
      if (!parts[i]) return null;
      try {
        params[p.slice(1)] = decodeURIComponent(parts[i]!);
      } catch {
        return null; // a malformed escape cannot name anything: fall through to 404
      }
    } else if (p !== parts[i]) return null;
  }
  return params;
}
