import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../core/zod';
import type { QueuedWrite, ReplayQueueStore, SettledKey } from '../../core/search/replay-queue';
import type { BackendRole } from '../../core/search/settings';
import { formatZodError } from '../../core/validation-util';

/**
 * The replay queue in DynamoDB, shared by every Lambda instance of one proxy: one partition
 * `REPLAY#<name>`, one item per store and id (sort key `<target>#<id>`), the vector and metadata as one JSON
 * attribute. Single-item conditional writes only (dynalite has no transactions, and none is needed):
 * a put is an update that applies only when the item is missing or older (keeping the first queuedAt and
 * dropping the lease), a remove a delete only while the stored version is not newer, a claim an update only
 * at the version given and when no other instance holds an unexpired lease. Loads are strongly consistent
 * queries of the keys and versions (the payload comes with the claim). The key prefix lets the table be
 * the breaker-state one (the grant is limited to `REPLAY#*` partitions).
 */

export interface DynamoReplayQueueOptions {
  tableName: string;
  /** This proxy's queue (the breaker prefix), so proxies sharing a table keep apart. Default "search". */
  name?: string;
  client?: DynamoDBClient;
  clientConfig?: DynamoDBClientConfig;
  /** Key attribute names. Default pk/sk (the breaker-state and progress tables' layout). */
  partitionKey?: string;
  sortKey?: string;
  /** Wall-clock ms for leases (instances compare them: keep clocks synced, as Lambda's are). */
  now?: () => number;
}

const itemSchema = z.object({
  op: z.enum(['upsert', 'delete']),
  version: z.number().check(z.int(), z.gte(0)),
  queuedAt: z.number(),
  payload: z.optional(z.string()),
});
const payloadSchema = z.strictObject({ vector: z.optional(z.array(z.number())), metadata: z.optional(z.record(z.string(), z.unknown())) });

export class DynamoReplayQueueStore implements ReplayQueueStore {
  readonly kind = 'dynamodb';
  readonly owner = randomUUID();
  private readonly doc: DynamoDBDocumentClient;
  private readonly pk: string;
  private readonly sk: string;
  private readonly partition: string;
  private readonly now: () => number;

  constructor(private readonly opts: DynamoReplayQueueOptions) {
    const client = opts.client ?? new DynamoDBClient(opts.clientConfig ?? {});
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.pk = opts.partitionKey ?? 'pk';
    this.sk = opts.sortKey ?? 'sk';
    this.partition = `REPLAY#${opts.name ?? 'search'}`;
    this.now = opts.now ?? Date.now;
  }

  private key(target: BackendRole, id: string): Record<string, string> {
    return { [this.pk]: this.partition, [this.sk]: `${target}#${id}` };
  }

  private parse(item: Record<string, unknown>, withPayload: boolean): QueuedWrite {
    const sk = String(item[this.sk]);
    const cut = sk.indexOf('#');
    const target = sk.slice(0, cut);
    const r = itemSchema.safeParse(item);
    if ((target !== 'primary' && target !== 'fallback') || !r.success) {
      throw new Error(`replay queue in table ${this.opts.tableName}: item ${this.partition} / ${sk} is not a queue entry${r.success ? '' : `: ${formatZodError(r.error)}`}`);
    }
    let extra: z.infer<typeof payloadSchema> = {};
    if (withPayload && r.data.payload) {
      const p = payloadSchema.safeParse(JSON.parse(r.data.payload));
      if (!p.success) throw new Error(`replay queue in table ${this.opts.tableName}: item ${sk} has a bad payload: ${formatZodError(p.error)}`);
      extra = p.data;
    }
    return { target, op: r.data.op, id: sk.slice(cut + 1), version: r.data.version, ...extra, queuedAt: r.data.queuedAt };
  }

  /** Every entry's key, version, op and age (no payload: the claim reads it). */
  async load(): Promise<QueuedWrite[]> {
    const out: QueuedWrite[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.doc.send(
        new QueryCommand({
          TableName: this.opts.tableName,
          KeyConditionExpression: '#pk = :p',
          ProjectionExpression: '#sk, #op, #v, #q',
          ExpressionAttributeNames: { '#pk': this.pk, '#sk': this.sk, '#op': 'op', '#v': 'version', '#q': 'queuedAt' },
          ExpressionAttributeValues: { ':p': this.partition },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of r.Items ?? []) out.push(this.parse(item, false));
      start = r.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async apply(put: QueuedWrite[], remove: SettledKey[]): Promise<void> {
    await Promise.all([...remove.map((k) => this.remove(k)), ...put.map((e) => this.put(e))]);
  }

  private async conditional(send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  private put(e: QueuedWrite): Promise<boolean> {
    const payload = e.op === 'upsert' ? JSON.stringify({ vector: e.vector ?? [], ...(e.metadata ? { metadata: e.metadata } : {}) }) : undefined;
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.opts.tableName,
          Key: this.key(e.target, e.id),
          // newer versions only; the first miss's time stays; a lease on the older version is void
          ConditionExpression: 'attribute_not_exists(#v) OR #v < :v',
          UpdateExpression: `SET #op = :op, #v = :v, #q = if_not_exists(#q, :q)${payload ? ', #p = :p' : ''} REMOVE #lo, #lu${payload ? '' : ', #p'}`,
          ExpressionAttributeNames: { '#op': 'op', '#v': 'version', '#q': 'queuedAt', '#p': 'payload', '#lo': 'leaseOwner', '#lu': 'leaseUntil' },
          ExpressionAttributeValues: { ':op': e.op, ':v': e.version, ':q': e.queuedAt, ...(payload ? { ':p': payload } : {}) },
        }),
      ),
    );
  }

  private remove(k: SettledKey): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.opts.tableName,
          Key: this.key(k.target, k.id),
          ConditionExpression: '#v <= :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': k.version },
        }),
      ),
    );
  }

  async claim(target: BackendRole, keys: Array<{ id: string; version: number }>, leaseMs: number): Promise<QueuedWrite[]> {
    const now = this.now();
    const claimed = await Promise.all(
      keys.map(async (k) => {
        try {
          const r = await this.doc.send(
            new UpdateCommand({
              TableName: this.opts.tableName,
              Key: this.key(target, k.id),
              ConditionExpression: '#v = :v AND (attribute_not_exists(#lu) OR #lu < :now OR #lo = :me)',
              UpdateExpression: 'SET #lo = :me, #lu = :until',
              ExpressionAttributeNames: { '#v': 'version', '#lo': 'leaseOwner', '#lu': 'leaseUntil' },
              ExpressionAttributeValues: { ':v': k.version, ':now': now, ':me': this.owner, ':until': now + leaseMs },
              ReturnValues: 'ALL_NEW',
            }),
          );
          return r.Attributes ? this.parse(r.Attributes, true) : null;
        } catch (e) {
          if (e instanceof ConditionalCheckFailedException) return null;
          throw e;
        }
      }),
    );
    return claimed.filter((c): c is QueuedWrite => c !== null);
  }

  async release(target: BackendRole, ids: string[]): Promise<void> {
    await Promise.all(
      ids.map((id) =>
        this.conditional(() =>
          this.doc.send(
            new UpdateCommand({
              TableName: this.opts.tableName,
              Key: this.key(target, id),
              ConditionExpression: '#lo = :me',
              UpdateExpression: 'REMOVE #lo, #lu',
              ExpressionAttributeNames: { '#lo': 'leaseOwner', '#lu': 'leaseUntil' },
              ExpressionAttributeValues: { ':me': this.owner },
            }),
          ),
        ),
      ),
    );
  }

  async close(): Promise<void> {
    if (!this.opts.client) this.doc.destroy();
  }
}
