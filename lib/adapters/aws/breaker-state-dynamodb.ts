import { ConditionalCheckFailedException, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { sharedBreakerStateSchema, type BreakerStateStore, type SharedBreakerState } from '../../core/search/breaker/ports';
import { formatZodError } from '../../core/validation-util';

export interface DynamoBreakerStateOptions {
  tableName: string;
  client?: DynamoDBClient;
  clientConfig?: DynamoDBClientConfig;
  /** Key attribute names. Default pk/sk, the progress table's layout, so the proxy can share that table. */
  partitionKey?: string;
  sortKey?: string;
}

/**
 * Shared breaker state in DynamoDB: one item per breaker (`BREAKER#<name>` / `STATE`), written with a
 * single-item conditional put on the version (no transactions: dynalite has none, and one item needs none).
 * Reads are strongly consistent so an instance never adopts a state older than one it has seen.
 */
export class DynamoBreakerStateStore implements BreakerStateStore {
  readonly kind = 'dynamodb';
  private readonly doc: DynamoDBDocumentClient;
  private readonly pk: string;
  private readonly sk: string;

  constructor(private readonly opts: DynamoBreakerStateOptions) {
    const client = opts.client ?? new DynamoDBClient(opts.clientConfig ?? {});
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.pk = opts.partitionKey ?? 'pk';
    this.sk = opts.sortKey ?? 'sk';
  }

  private key(name: string): Record<string, string> {
    return { [this.pk]: `BREAKER#${name}`, [this.sk]: 'STATE' };
  }

  async get(name: string): Promise<SharedBreakerState | null> {
    const r = await this.doc.send(new GetCommand({ TableName: this.opts.tableName, Key: this.key(name), ConsistentRead: true }));
    if (!r.Item) return null;
    const { [this.pk]: _p, [this.sk]: _s, ...rest } = r.Item;
    const parsed = sharedBreakerStateSchema.safeParse(rest);
    if (!parsed.success) throw new Error(`breaker state for "${name}" in table ${this.opts.tableName} is not valid: ${formatZodError(parsed.error)}`);
    return parsed.data;
  }

  async compareAndSet(name: string, expectedVersion: number, next: SharedBreakerState): Promise<boolean> {
    if (next.version !== expectedVersion + 1) throw new Error(`breaker state version must go from ${expectedVersion} to ${expectedVersion + 1} (got ${next.version})`);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.opts.tableName,
          Item: { ...this.key(name), ...next },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': this.pk } }
            : { ConditionExpression: '#v = :expected', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  async close(): Promise<void> {
    if (!this.opts.client) this.doc.destroy();
  }
}
