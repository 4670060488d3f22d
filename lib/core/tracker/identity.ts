/**
 * Who is calling: the authenticated identity, never a header the caller writes. Three sources, one answer:
 * - named bearer tokens (local mode: `serve --tokens-file`, name → token, one per person or job);
 * - the principal the runtime verified before the request reached the API (`HttpRequest.principal`: the IAM
 *   caller API Gateway checked the SigV4 signature of, on AWS);
 * - neither (local mode without a token, bound to 127.0.0.1): `anonymous`.
 * `X-Actor` stays, but only as an "on behalf of" note beside the authenticated name.
 */
import { timingSafeEqual } from 'node:crypto';
import * as z from '../zod';
import { DomainError } from '../errors';
import type { HttpRequest } from '../http';

export interface Caller {
  /** The authenticated name: a token's name, an IAM principal ARN, or `anonymous` when the API has no auth. */
  name: string;
  via: 'token' | 'principal' | 'none';
  /** What the caller claims to act for (X-Actor): recorded next to the name, never instead of it. */
  onBehalfOf?: string;
}

/** A tokens file: `{"alice": "<token>", "ci-job": "<token>"}`; names are what the audit trail records. */
export const tokensFileSchema = z
  .record(
    z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'a token name is 1-64 letters, digits, . _ @ - (it is recorded as the actor)')),
    z.string().check(z.minLength(16, 'a token must be at least 16 characters (openssl rand -hex 16)'), z.maxLength(512)),
  ).check(z.refine((t) => Object.keys(t).length > 0, 'the tokens file names no token'), z.refine((t) => new Set(Object.values(t)).size === Object.keys(t).length, 'two names share one token: each person or job needs its own'));
export type NamedTokens = z.output<typeof tokensFileSchema>;

/** The name `--token` (one unnamed token) is recorded under. */
export const SINGLE_TOKEN_NAME = 'token';

export interface AuthSettings {
  /** name → token; empty or undefined = no bearer auth. */
  tokens?: NamedTokens;
}

/** The single `--token` as a named-token table. */
export function namedTokens(o: { token?: string; tokens?: NamedTokens }): NamedTokens | undefined {
  if (!o.token && !o.tokens) return undefined;
  return { ...(o.token ? { [SINGLE_TOKEN_NAME]: o.token } : {}), ...o.tokens };
}

/** The token's name when the request carries a valid bearer token, else undefined (constant-time per token). */
export function tokenName(req: HttpRequest, tokens: NamedTokens): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers['authorization'] ?? '');
  if (!m) return undefined;
  const given = Buffer.from(m[1]!.trim());
  let found: string | undefined;
  for (const [name, t] of Object.entries(tokens)) {
    const b = Buffer.from(t);
    if (given.length === b.length && timingSafeEqual(given, b)) found = name;
  }
  return found;
}

/** The authenticated caller, or 401 when auth is on and the request does not pass it. */
export function authenticate(req: HttpRequest, tokens: NamedTokens | undefined): Caller {
  const onBehalfOf = claimedActor(req);
  const note = onBehalfOf === undefined ? {} : { onBehalfOf };
  if (tokens && Object.keys(tokens).length) {
    if (!req.headers['authorization']) throw new DomainError('unauthorized', 'missing Authorization: Bearer <token> header');
    const name = tokenName(req, tokens);
    if (!name) throw new DomainError('unauthorized', 'invalid bearer token');
    return { name, via: 'token', ...note };
  }
  if (req.principal) return { name: req.principal.slice(0, 200), via: 'principal', ...note };
  return { name: 'anonymous', via: 'none', ...note };
}

/** X-Actor, validated (1-100 characters), or undefined. */
function claimedActor(req: HttpRequest): string | undefined {
  const actor = req.headers['x-actor'];
  if (actor !== undefined && (actor.trim().length === 0 || actor.length > 100)) throw new DomainError('bad_request', 'X-Actor must be 1-100 characters');
  return actor?.trim();
}

/** How a change's author reads in the activity log, the dashboard and reports. */
export function describeActor(e: { actor: string; onBehalfOf?: string }): string {
  return e.onBehalfOf && e.onBehalfOf !== e.actor ? `${e.actor} (on behalf of ${e.onBehalfOf})` : e.actor;
}
