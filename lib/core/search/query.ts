import * as z from '../zod';
import { DomainError } from '../errors';
import { parseJsonBody, type HttpRequest } from '../http';
import { nestsDeeperThan } from '../json-limits';
import { parseOrThrow } from '../validation-util';

/**
 * The query contract: what a client may send to `POST /search`, its limits, and the vector backend port
 * every store speaks. Everything refused here is the query's own fault: answered with a 4xx naming the
 * limit before any backend or breaker sees it, so it never counts against a store.
 */

export interface SearchQuery {
  vector: number[];
  topK: number;
  /** Passed to the backend as is: a Milvus boolean expression (string) or an OpenSearch filter (object). */
  filter?: string | Record<string, unknown>;
}

export interface SearchHit {
  id: string;
  score: number;
  metadata?: Record<string, unknown>;
}

/** Vector backend port. Implementations: the HTTP JSON adapter (Milvus, OpenSearch, ...), in-process demo backends. */
export interface VectorBackend {
  /** Shown in logs and errors ("milvus at http://..."). */
  readonly description: string;
  /** Must stop work and reject when `signal` aborts. Errors carrying a `status` (HTTP) are classified by it. */
  search(query: SearchQuery, signal: AbortSignal): Promise<SearchHit[]>;
}

export const SEARCH_LIMITS = {
  maxDimensions: 8192,
  maxTopK: 1000,
  /** Nesting of an object filter: backends and their serializers see it as is (direct callers of search(); over HTTP the body's own limit, LIMITS.maxJsonDepth, is met first). */
  maxFilterDepth: 32,
  /** An object filter's size as JSON. */
  maxFilterBytes: 16 * 1024,
} as const;

export const searchRequestSchema = z.strictObject({
  // zod 4's number() already refuses NaN and ±Infinity.
  vector: z
    .array(z.number()).check(z.minLength(1, 'must have at least one dimension'), z.maxLength(SEARCH_LIMITS.maxDimensions, `must have at most ${SEARCH_LIMITS.maxDimensions} dimensions`)),
  topK: z._default(z.number().check(z.int(), z.gte(1), z.lte(SEARCH_LIMITS.maxTopK)), 10),
  filter: z.optional(z.union([z.string().check(z.maxLength(4096)), z.record(z.string(), z.unknown())])),
});

/**
 * Parse and validate a /search body: 415/413/400 from parseJsonBody (which also refuses a body nested deeper
 * than every endpoint allows, before parsing), then the schema. `queryFault` then checks the filter. Everything here is the query's own fault, answered with
 * a 4xx naming the limit before any backend (or breaker) sees the query.
 */
export function parseSearchRequest(req: HttpRequest): SearchQuery {
  return parseOrThrow(searchRequestSchema, parseJsonBody(req), 'search request');
}

/** What is wrong with a query's filter (depth, size as JSON), or null: so no serializer downstream can fail on it. */
export function queryFault(q: SearchQuery): DomainError | null {
  if (q.filter === undefined || typeof q.filter === 'string') return null;
  // The filter object itself is depth 1.
  if (nestsDeeperThan(q.filter, SEARCH_LIMITS.maxFilterDepth)) {
    return new DomainError('bad_request', `search request: filter is nested more than ${SEARCH_LIMITS.maxFilterDepth} levels deep (the limit is ${SEARCH_LIMITS.maxFilterDepth})`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(q.filter));
  if (bytes > SEARCH_LIMITS.maxFilterBytes) {
    return new DomainError('payload_too_large', `search request: filter is ${bytes} bytes as JSON; the limit is ${SEARCH_LIMITS.maxFilterBytes} bytes`);
  }
  return null;
}
