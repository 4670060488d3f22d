import * as z from '../zod';
import { DomainError } from '../errors';
import { parseJsonBody, type HttpRequest } from '../http';
import { parseOrThrow } from '../validation-util';
import { SEARCH_LIMITS } from './query';
import { PROXY_STAGES, proxyStageSchema, type BackendRole, type ProxyMode, type ProxyStage } from './settings';

/**
 * The write contract: `POST /upsert` and `POST /delete` bodies, their limits, the writer port each store
 * speaks, and the migration stages that decide which store acknowledges a write and which one follows.
 *
 * Every item carries a `version` (a number the client raises on each change of that id, e.g. an update
 * timestamp in ms or a sequence). Stores apply a write only when its version is newer than what they hold
 * for the id (a delete leaves a tombstone with its version), so a replay of an old write is a no-op: it can
 * neither reorder nor double-apply.
 */

export const WRITE_LIMITS = {
  /** Items per request. */
  maxBatch: 1000,
  maxIdLength: 512,
  /** Metadata of one item as JSON. */
  maxMetadataBytes: 16 * 1024,
  /** Request body (a batch of 768-dimensional vectors is ~10 KB per item as JSON). */
  maxBodyBytes: 4 * 1024 * 1024,
} as const;

const idSchema = z.string().check(z.minLength(1), z.maxLength(WRITE_LIMITS.maxIdLength));
const versionSchema = z.number().check(z.int('must be an integer'), z.gte(0), z.lte(Number.MAX_SAFE_INTEGER));

/**
 * A vector: 1 to maxDimensions finite numbers. Checked in one loop rather than as z.array(z.number()): on the
 * write path that is per number per request (a 10 × 768 batch is 7,680 of them), and the element-wise schema
 * cost about 1 ms per 10 × 128 batch, more than the rest of a proxied write.
 */
const vectorSchema = z.custom<number[]>().check(z.superRefine((v, ctx) => {
  if (!Array.isArray(v)) return void ctx.addIssue({ code: 'custom', message: 'must be an array of numbers' });
  if (v.length < 1) return void ctx.addIssue({ code: 'custom', message: 'must have at least one dimension' });
  if (v.length > SEARCH_LIMITS.maxDimensions) return void ctx.addIssue({ code: 'custom', message: `must have at most ${SEARCH_LIMITS.maxDimensions} dimensions` });
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return void ctx.addIssue({ code: 'custom', path: [i], message: `must be a number (got ${JSON.stringify(x) ?? typeof x})` });
  }
}));

export const vectorRecordSchema = z.strictObject({
  id: idSchema,
  vector: vectorSchema,
  metadata: z.optional(z
    .record(z.string(), z.unknown()).check(z.refine((m) => !Object.hasOwn(m, '__proto__'), 'metadata key "__proto__" is not allowed'), z.refine((m) => JSON.stringify(m).length <= WRITE_LIMITS.maxMetadataBytes, `metadata must serialize to at most ${WRITE_LIMITS.maxMetadataBytes} bytes`))),
  version: versionSchema,
});
export type VectorRecord = z.infer<typeof vectorRecordSchema>;

export const deleteItemSchema = z.strictObject({ id: idSchema, version: versionSchema });
export type DeleteItem = z.infer<typeof deleteItemSchema>;

const uniqueIds = <T extends { id: string }>(items: T[], ctx: z.core.$RefinementCtx, key: string) => {
  const seen = new Map<string, number>();
  items.forEach((it, i) => {
    const first = seen.get(it.id);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `id "${it.id}" appears twice in one batch (also at ${key}[${first}]); send one item per id` });
    else seen.set(it.id, i);
  });
};

export const upsertRequestSchema = z
  .strictObject({ vectors: z.array(vectorRecordSchema).check(z.minLength(1, 'must hold at least one vector'), z.maxLength(WRITE_LIMITS.maxBatch, `must hold at most ${WRITE_LIMITS.maxBatch} vectors`)) }).check(z.superRefine((b, ctx) => uniqueIds(b.vectors, ctx, 'vectors')));
export const deleteRequestSchema = z
  .strictObject({ items: z.array(deleteItemSchema).check(z.minLength(1, 'must hold at least one item'), z.maxLength(WRITE_LIMITS.maxBatch, `must hold at most ${WRITE_LIMITS.maxBatch} items`)) }).check(z.superRefine((b, ctx) => uniqueIds(b.items, ctx, 'items')));

export type WriteBatch = ({ op: 'upsert'; vectors: VectorRecord[] } | { op: 'delete'; items: DeleteItem[] }) & {
  /**
   * The client's body as received, when the batch was parsed from it (it is then exactly this batch in the
   * proxy's own format, checked by the strict schema): a store speaking that format gets it as is, without
   * its numbers being parsed and printed again.
   */
  raw?: string;
};

export function parseUpsertRequest(req: HttpRequest): WriteBatch {
  return { op: 'upsert', ...parseOrThrow(upsertRequestSchema, parseJsonBody(req, WRITE_LIMITS.maxBodyBytes), 'upsert request'), raw: req.body ?? '' };
}
export function parseDeleteRequest(req: HttpRequest): WriteBatch {
  return { op: 'delete', ...parseOrThrow(deleteRequestSchema, parseJsonBody(req, WRITE_LIMITS.maxBodyBytes), 'delete request'), raw: req.body ?? '' };
}

export const batchSize = (b: WriteBatch): number => (b.op === 'upsert' ? b.vectors.length : b.items.length);
export const batchKeys = (b: WriteBatch): Array<{ id: string; version: number }> =>
  b.op === 'upsert' ? b.vectors.map((v) => ({ id: v.id, version: v.version })) : b.items.map((d) => ({ id: d.id, version: d.version }));

/**
 * Writer port: a store that takes batched upserts and deletes. A write whose version is not newer than the
 * stored one (or the tombstone's) must be accepted and ignored. Errors carrying an HTTP `status` are
 * classified like search errors (4xx but 408/429: the request's fault; the rest: the store's).
 */
export interface VectorWriter {
  readonly description: string;
  write(batch: WriteBatch, signal: AbortSignal): Promise<void>;
  /** Ids and versions held (tombstones included, `deleted: true`), in id order after `after` (reconciliation). Optional. */
  list?(after: string | null, limit: number, signal: AbortSignal): Promise<Array<{ id: string; version: number; deleted?: boolean }>>;
}

/**
 * The migration's stages, reads and writes together. In the proxy's words the new store is `primary` and
 * the old one `fallback`.
 *
 * | stage | reads | writes acknowledged by | follower (best effort, replayed) |
 * |---|---|---|---|
 * | old-only | old only (fallback-only) | old | – |
 * | dual-write | old only (fallback-only) | old | new |
 * | shadow | shadow (old serves by default, new compared) | old | new |
 * | new-primary | new, old as fallback (primary-only) | new | old (so a rollback loses nothing) |
 */
export { PROXY_STAGES, proxyStageSchema, type ProxyStage };

export function readModeFor(stage: ProxyStage): ProxyMode {
  if (stage === 'shadow') return 'shadow';
  return stage === 'new-primary' ? 'primary-only' : 'fallback-only';
}

/** The stage a read mode alone implies (deployments that set only `mode`). */
export function stageForMode(mode: ProxyMode): ProxyStage {
  return mode === 'fallback-only' ? 'old-only' : mode === 'shadow' ? 'shadow' : 'new-primary';
}

export interface WritePlan {
  ack: BackendRole;
  follower: BackendRole | null;
}

export function writePlan(stage: ProxyStage): WritePlan {
  if (stage === 'old-only') return { ack: 'fallback', follower: null };
  if (stage === 'new-primary') return { ack: 'primary', follower: 'fallback' };
  return { ack: 'fallback', follower: 'primary' };
}

/**
 * Where the operator's stage lives (the same switch cutover and rollback move): Parameter Store on AWS,
 * Redis on GCP, memory behind the local API. `null`: no stage set, the deployment's settings decide.
 */
export interface StageSwitch {
  readonly kind: string;
  stage(): Promise<ProxyStage | null>;
}

/** A stage held in memory (local mode's admin route, tests). */
export class StaticStageSwitch implements StageSwitch {
  readonly kind = 'static';
  constructor(private current: ProxyStage | null = null) {}
  set(stage: ProxyStage | null): void {
    this.current = stage;
  }
  async stage(): Promise<ProxyStage | null> {
    return this.current;
  }
}

export function unknownStage(value: unknown): DomainError {
  return new DomainError('validation_failed', `unknown stage ${JSON.stringify(value)} (one of ${PROXY_STAGES.join(', ')})`);
}
