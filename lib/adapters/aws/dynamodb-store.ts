import { ConditionalCheckFailedException, DynamoDBClient, type CreateTableCommandInput, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ActivityEntry } from '../../core/model';
import { sortPoints, type HistoryPoint, type HistoryWrite } from '../../core/history';
import {
  DURABLE_NOW,
  type ActivityQuery,
  type CommitRequest,
  type CommitResult,
  type IdempotencyRecord,
  type ProgressStore,
  type StoredMigration,
} from '../../core/store';
import { BATCH_THROTTLE_RETRY, retry } from '../../core/retry';

/** Key attributes of the progress table (the CDK ProgressTable construct creates the same). */
export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'expiresAt' } as const;

/** CreateTable input for the layout this store expects (tests, local tooling). */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
  };
}

export interface DynamoDbStoreOptions {
  tableName: string;
  /** An existing client (shared across invocations in Lambda); otherwise one is made from `clientConfig`. */
  client?: DynamoDBClient;
  clientConfig?: DynamoDBClientConfig;
  /** Activity entries get a TTL this many days after they happened. Default 90. */
  activityTtlDays?: number;
  /** Idempotency records answer replays for this long. Default 24 h. */
  idempotencyTtlMs?: number;
  /** At most this many idempotency records are kept per migration (newest win). Default 200. */
  maxIdempotencyRecords?: number;
}

/** Migration documents must stay under DynamoDB's 400 KB item limit (with room for the keys). */
const MAX_ITEM_BYTES = 390 * 1024;
const REGISTRY_PK = 'MIGRATIONS';
const STATE_SK = 'STATE';
const pkOf = (id: string) => `MIG#${id}`;
const activitySk = (version: number, index: number) => `ACT#${String(version).padStart(12, '0')}#${String(index).padStart(5, '0')}`;

interface DocExtras {
  version: number;
  /** Idempotency records by key, kept inside the document so they commit atomically with it. */
  idem: Record<string, IdempotencyRecord>;
  /** The activity of the commit that produced `version` (re-written by the next commit: crash repair). */
  lastActivity: ActivityEntry[];
}

interface DocRead {
  state: string;
  extras: DocExtras;
}
interface ReadSlot {
  current: Promise<DocRead | null>;
  waiters?: { promise: Promise<DocRead | null>; resolve: (v: DocRead | null) => void; reject: (e: unknown) => void };
}

/**
 * ProgressStore on one DynamoDB table, built on single-item conditional writes only (no transactions):
 *
 * - `MIG#<id> / STATE` holds the migration document, its `version`, the recent idempotency records and the
 *   activity of the latest commit. A commit is one PutItem conditioned on the version it was computed from
 *   (`attribute_not_exists(pk)` for creation), so concurrent writers never lose an update, and an
 *   idempotency key is taken in the same write: whoever commits a key also moves the version, so a
 *   conflicting writer fails its condition, re-reads and finds the key (a retried request never applies twice).
 * - `MIG#<id> / ACT#<version>#<n>` are activity entries (ordered by version, then position) with a TTL.
 *   They are written after the document; each commit also re-puts the previous commit's entries and reads
 *   merge the latest commit's entries from the document, so a crash between the two writes loses nothing.
 * - `MIGRATIONS / <id>` lists migrations (written with the creation, repeated by the second commit).
 */
export class DynamoDbProgressStore implements ProgressStore {
  readonly kind = 'dynamodb';
  private readonly doc: DynamoDBDocumentClient;
  private readonly raw: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly table: string;
  private readonly activityTtlSeconds: number;
  private readonly idemTtlMs: number;
  private readonly maxIdem: number;
  /** The extras of the last document seen per migration: saves a read when commit follows load. */
  private readonly seen = new Map<string, DocExtras>();
  private readonly commits = new Map<string, Promise<void>>();
  private readonly reads = new Map<string, ReadSlot>();

  constructor(opts: DynamoDbStoreOptions) {
    this.table = opts.tableName;
    this.ownsClient = !opts.client;
    this.raw = opts.client ?? new DynamoDBClient(opts.clientConfig ?? {});
    this.doc = DynamoDBDocumentClient.from(this.raw, { marshallOptions: { removeUndefinedValues: true } });
    this.activityTtlSeconds = (opts.activityTtlDays ?? 90) * 86400;
    this.idemTtlMs = opts.idempotencyTtlMs ?? 24 * 3600_000;
    this.maxIdem = opts.maxIdempotencyRecords ?? 200;
  }

  async load(migrationId: string): Promise<StoredMigration | null> {
    const item = await this.getDoc(migrationId);
    if (!item) return null;
    return { state: JSON.parse(item.state), version: item.extras.version };
  }

  /**
   * Commits to one migration run one at a time per store instance, and a commit whose expected version this
   * instance already knows to be outdated fails without a round trip: under contention (many requests in one
   * process) only one conditional write per process competes at the table.
   */
  commit(req: CommitRequest): Promise<CommitResult> {
    const prev = this.commits.get(req.migrationId) ?? Promise.resolve();
    const next = prev.then(() => this.commitNow(req));
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.commits.set(req.migrationId, settled);
    void settled.then(() => {
      if (this.commits.get(req.migrationId) === settled) this.commits.delete(req.migrationId);
    });
    return next;
  }

  private async commitNow(req: CommitRequest): Promise<CommitResult> {
    const { migrationId, expectedVersion } = req;
    const known = this.seen.get(migrationId);
    if (known && known.version > expectedVersion) return { ok: false, durable: DURABLE_NOW };
    let base: DocExtras | null;
    if (expectedVersion === 0) base = { version: 0, idem: {}, lastActivity: [] };
    else {
      const cached = this.seen.get(migrationId);
      base = cached?.version === expectedVersion ? cached : ((await this.getDoc(migrationId))?.extras ?? null);
      if (!base || base.version !== expectedVersion) return { ok: false, durable: DURABLE_NOW };
    }
    let idem = base.idem;
    if (req.idempotency) {
      if (idem[req.idempotency.key]) return { ok: false, durable: DURABLE_NOW };
      idem = this.pruneIdempotency({ ...idem, [req.idempotency.key]: req.idempotency }, req.idempotency.createdAt);
    }
    const version = expectedVersion + 1;
    const extras: DocExtras = { version, idem, lastActivity: req.activity };
    const item = {
      [TABLE_KEYS.partitionKey]: pkOf(migrationId),
      [TABLE_KEYS.sortKey]: STATE_SK,
      version,
      updatedAt: req.state.updatedAt,
      state: JSON.stringify(req.state),
      idem: JSON.stringify(extras.idem),
      lastActivity: JSON.stringify(extras.lastActivity),
    };
    const size = item.state.length + item.idem.length + item.lastActivity.length;
    if (size > MAX_ITEM_BYTES) {
      throw new Error(`migration "${migrationId}" document is ${size} bytes, over the ${MAX_ITEM_BYTES}-byte DynamoDB item budget`);
    }
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey } }
            : { ConditionExpression: '#v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': expectedVersion } }),
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException') {
        this.seen.delete(migrationId);
        return { ok: false, durable: DURABLE_NOW };
      }
      throw e;
    }
    this.seen.set(migrationId, extras);
    await this.batchPut([
      // The registry entry is written with the creation and repeated by the next commit (crash repair, as for activity).
      ...(expectedVersion <= 1 ? [{ [TABLE_KEYS.partitionKey]: REGISTRY_PK, [TABLE_KEYS.sortKey]: migrationId }] : []),
      ...this.activityItems(migrationId, expectedVersion, base.lastActivity),
      ...this.activityItems(migrationId, version, req.activity),
    ]);
    return { ok: true, durable: DURABLE_NOW };
  }

  async listMigrations(): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
          ExpressionAttributeValues: { ':pk': REGISTRY_PK },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const it of r.Items ?? []) ids.push(String(it[TABLE_KEYS.sortKey]));
      start = r.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  async readActivity(migrationId: string, query: ActivityQuery = {}): Promise<ActivityEntry[]> {
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return [];
    const since = query.since ?? Number.NEGATIVE_INFINITY;
    // Newest first: the latest commit's entries from the document (they may not be written out yet), then the items.
    const docItem = await this.getDoc(migrationId);
    const newest: Array<{ sk: string; entry: ActivityEntry }> = [];
    const seenSk = new Set<string>();
    const take = (sk: string, entry: ActivityEntry) => {
      if (seenSk.has(sk) || entry.at < since) return;
      seenSk.add(sk);
      newest.push({ sk, entry });
    };
    if (docItem) {
      const { version, lastActivity } = docItem.extras;
      lastActivity.map((e, i) => [activitySk(version, i), e] as const).reverse().forEach(([sk, e]) => take(sk, e));
    }
    let start: Record<string, unknown> | undefined;
    let older = false;
    do {
      const r = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :act)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
          ExpressionAttributeValues: { ':pk': pkOf(migrationId), ':act': 'ACT#' },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: Number.isFinite(limit) ? Math.min(1000, limit + 50) : 1000,
          ExclusiveStartKey: start,
        }),
      );
      for (const it of r.Items ?? []) {
        const entry = JSON.parse(String(it['entry'])) as ActivityEntry;
        if (entry.at < since) {
          older = true;
          break;
        }
        take(String(it[TABLE_KEYS.sortKey]), entry);
      }
      start = r.LastEvaluatedKey;
    } while (start && !older && newest.length < limit);
    newest.sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0));
    return newest
      .slice(0, Number.isFinite(limit) ? limit : undefined)
      .reverse()
      .map((x) => x.entry);
  }

  async getIdempotency(migrationId: string, key: string): Promise<IdempotencyRecord | null> {
    const item = await this.getDoc(migrationId);
    if (!item) return null;
    return item.extras.idem[key] ?? null;
  }

  /** `MIG#<id> / HIST#<tier>#<slot>` items: a put replaces the slot, so a tier never holds more items than slots. */
  async putHistory(migrationId: string, writes: HistoryWrite[]): Promise<void> {
    await this.batchPut(
      writes.map((w) => ({
        [TABLE_KEYS.partitionKey]: pkOf(migrationId),
        [TABLE_KEYS.sortKey]: `HIST#${w.tier}#${String(w.slot).padStart(6, '0')}`,
        point: JSON.stringify(w.point),
      })),
    );
  }

  async readHistory(migrationId: string, tier: string): Promise<HistoryPoint[]> {
    const out: HistoryPoint[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :h)',
          ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey, '#sk': TABLE_KEYS.sortKey },
          ExpressionAttributeValues: { ':pk': pkOf(migrationId), ':h': `HIST#${tier}#` },
          ExclusiveStartKey: start,
        }),
      );
      for (const it of r.Items ?? []) out.push(JSON.parse(String(it['point'])) as HistoryPoint);
      start = r.LastEvaluatedKey;
    } while (start);
    return sortPoints(out);
  }

  async close(): Promise<void> {
    this.seen.clear();
    if (this.ownsClient) this.raw.destroy();
  }

  /**
   * Read the document, sharing round trips between concurrent readers of one migration without ever
   * answering from a read that started before the caller asked: a reader that arrives while a read is in
   * flight waits for the next one, which starts when the current one ends and serves every such waiter.
   */
  private getDoc(migrationId: string): Promise<DocRead | null> {
    const slot = this.reads.get(migrationId);
    if (!slot) return this.startRead(migrationId);
    if (!slot.waiters) {
      let resolve!: (v: DocRead | null) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<DocRead | null>((a, b) => ((resolve = a), (reject = b)));
      slot.waiters = { promise, resolve, reject };
    }
    return slot.waiters.promise;
  }

  private startRead(migrationId: string): Promise<DocRead | null> {
    const slot: ReadSlot = { current: this.fetchDoc(migrationId) };
    this.reads.set(migrationId, slot);
    const done = () => {
      const w = slot.waiters;
      if (w) this.startRead(migrationId).then(w.resolve, w.reject);
      else if (this.reads.get(migrationId) === slot) this.reads.delete(migrationId);
    };
    slot.current.then(done, done);
    return slot.current;
  }

  private async fetchDoc(migrationId: string): Promise<DocRead | null> {
    const r = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { [TABLE_KEYS.partitionKey]: pkOf(migrationId), [TABLE_KEYS.sortKey]: STATE_SK },
        ConsistentRead: true,
      }),
    );
    if (!r.Item) {
      this.seen.delete(migrationId);
      return null;
    }
    const extras: DocExtras = {
      version: Number(r.Item['version']),
      idem: JSON.parse(String(r.Item['idem'] ?? '{}')),
      lastActivity: JSON.parse(String(r.Item['lastActivity'] ?? '[]')),
    };
    this.seen.set(migrationId, extras);
    return { state: String(r.Item['state']), extras };
  }

  /**
   * Drop records older than the TTL (measured from the newest record, so the store needs no clock) and keep
   * at most `maxIdempotencyRecords`. Reads and commits see the same stored set, so they always agree.
   */
  private pruneIdempotency(idem: Record<string, IdempotencyRecord>, newest: number): Record<string, IdempotencyRecord> {
    const cutoff = newest - this.idemTtlMs;
    return Object.fromEntries(
      Object.entries(idem)
        .filter(([, r]) => r.createdAt >= cutoff)
        .sort((a, b) => b[1].createdAt - a[1].createdAt)
        .slice(0, this.maxIdem),
    );
  }

  private activityItems(migrationId: string, version: number, entries: ActivityEntry[]) {
    return entries.map((entry, i) => ({
      [TABLE_KEYS.partitionKey]: pkOf(migrationId),
      [TABLE_KEYS.sortKey]: activitySk(version, i),
      at: entry.at,
      entry: JSON.stringify(entry),
      [TABLE_KEYS.ttlAttribute]: Math.floor(entry.at / 1000) + this.activityTtlSeconds,
    }));
  }

  /** BatchWriteItem in chunks of 25, retrying unprocessed items (throttling) with the shared jittered backoff. */
  private async batchPut(items: Array<Record<string, unknown>>): Promise<void> {
    for (let i = 0; i < items.length; i += 25) {
      let pending: Array<{ PutRequest: { Item: Record<string, unknown> } }> = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      await retry(async (n) => {
        const r = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (r.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        return pending.length === 0 ? { done: undefined } : { retry: new Error(`DynamoDB kept ${pending.length} items unprocessed after ${n} attempts`) };
      }, BATCH_THROTTLE_RETRY);
    }
  }
}
