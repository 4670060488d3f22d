import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { BATCH_THROTTLE_RETRY, retry } from '../../core/retry';
import type { ConnectorConfig } from '../../core/validation/config';
import { chunks, type Key, keyFrom, keyRangeByScan, type Row, type ScanOptions, type SourceConnector } from '../../core/validation/connector';

type DynamoConfig = Extract<ConnectorConfig, { type: 'dynamodb' }>;

/**
 * A DynamoDB table through the AWS SDK v3 document client. Scans are unordered (the engine sorts with
 * bounded memory when a check needs key order); `segments` > 1 runs a parallel scan. Key ranges become a
 * FilterExpression (DynamoDB still reads the whole table: prefer `diff` and `sample` over `checksum` for
 * large tables). Gets use BatchGetItem, retrying unprocessed keys.
 */
export class DynamoDbConnector implements SourceConnector {
  readonly label: string;
  readonly ordered = false;
  readonly maxGetBatch = 1000;
  private readonly doc: DynamoDBDocumentClient;
  private readonly raw: DynamoDBClient;
  private keyType?: Promise<'string' | 'number'>;

  constructor(
    private readonly cfg: Omit<DynamoConfig, 'type'>,
    client?: DynamoDBClient,
  ) {
    this.label = `dynamodb:${cfg.table}`;
    this.raw = client ?? new DynamoDBClient({ region: cfg.region ?? process.env['AWS_REGION'] ?? 'us-east-1', ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}) });
    this.doc = DynamoDBDocumentClient.from(this.raw, { marshallOptions: { removeUndefinedValues: true } });
  }

  async count(signal?: AbortSignal): Promise<number> {
    let n = 0;
    await this.eachSegment(async (segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const r = await this.doc.send(new ScanCommand({ ...this.scanBase(segment), Select: 'COUNT', ExclusiveStartKey: start }), { abortSignal: signal });
        n += r.Count ?? 0;
        start = r.LastEvaluatedKey;
      } while (start);
    });
    return n;
  }

  async *scan(opts: ScanOptions): AsyncGenerator<Row[]> {
    const kt = await this.keyTypeOf();
    const names: Record<string, string> = { '#k': this.cfg.key };
    const values: Record<string, unknown> = {};
    const filter: string[] = [];
    if (opts.after !== undefined) {
      values[':after'] = keyFrom(opts.after, kt, this.label);
      filter.push('#k > :after');
    }
    if (opts.through !== undefined) {
      values[':through'] = keyFrom(opts.through, kt, this.label);
      filter.push('#k <= :through');
    }
    const input: Partial<ScanCommandInput> = {
      ...(filter.length || opts.keysOnly ? { ExpressionAttributeNames: names } : {}),
      ...(filter.length ? { FilterExpression: filter.join(' AND '), ExpressionAttributeValues: values } : {}),
      ...(opts.keysOnly ? { ProjectionExpression: '#k' } : {}),
      Limit: opts.batchSize,
    };
    // parallel segments feed one bounded queue: at most `segments` pages wait in memory
    const queue: Row[][] = [];
    let wake: (() => void) | undefined;
    let space: Array<() => void> = [];
    let failed: unknown;
    let running = this.cfg.segments;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const work = this.eachSegment(async (segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const r = await this.doc.send(new ScanCommand({ ...this.scanBase(segment), ...input, ExclusiveStartKey: start }), { abortSignal: opts.signal });
        start = r.LastEvaluatedKey;
        const rows = (r.Items ?? []).map((it) => this.toRow(it, kt));
        if (!rows.length) continue;
        while (queue.length >= this.cfg.segments && !failed) await new Promise<void>((res) => space.push(res));
        if (failed) return;
        queue.push(rows);
        notify();
      } while (start);
    })
      .catch((e) => {
        failed = e;
      })
      .finally(() => {
        running = 0;
        notify();
      });
    try {
      for (;;) {
        if (queue.length) {
          yield queue.shift()!;
          const waiting = space;
          space = [];
          for (const w of waiting) w();
          continue;
        }
        if (failed) throw failed;
        if (running === 0) break;
        await new Promise<void>((res) => (wake = res));
      }
      if (failed) throw failed;
    } finally {
      failed ??= new Error('scan closed');
      for (const w of space) w();
      await work;
    }
  }

  async get(keys: Key[], signal?: AbortSignal): Promise<Row[]> {
    const kt = await this.keyTypeOf();
    const out: Row[] = [];
    for (const part of chunks(keys, 100)) {
      let pending: Array<Record<string, unknown>> = part.map((k) => ({ [this.cfg.key]: keyFrom(k, kt, this.label) }));
      await retry(async () => {
        const r = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.cfg.table]: { Keys: pending, ConsistentRead: this.cfg.consistentRead } } }),
          { abortSignal: signal },
        );
        for (const it of r.Responses?.[this.cfg.table] ?? []) out.push(this.toRow(it, kt));
        pending = (r.UnprocessedKeys?.[this.cfg.table]?.Keys ?? []) as Array<Record<string, unknown>>;
        return pending.length === 0 ? { done: undefined } : { retry: new Error(`${this.label}: BatchGetItem kept returning ${pending.length} unprocessed keys (throttled?)`) };
      }, BATCH_THROTTLE_RETRY);
    }
    return out;
  }

  keyRange(signal?: AbortSignal): Promise<{ min: Key; max: Key } | null> {
    return keyRangeByScan(this, signal);
  }

  async close(): Promise<void> {
    this.raw.destroy();
  }

  private scanBase(segment: number): ScanCommandInput {
    return {
      TableName: this.cfg.table,
      ConsistentRead: this.cfg.consistentRead,
      ...(this.cfg.segments > 1 ? { Segment: segment, TotalSegments: this.cfg.segments } : {}),
    };
  }

  private async eachSegment(fn: (segment: number) => Promise<void>): Promise<void> {
    await Promise.all(Array.from({ length: this.cfg.segments }, (_, i) => fn(i)));
  }

  /** The key's type: from the config, else from the table's key schema (N → number, S → string). */
  private keyTypeOf(): Promise<'string' | 'number'> {
    if (this.cfg.keyType) return Promise.resolve(this.cfg.keyType);
    this.keyType ??= this.raw.send(new DescribeTableCommand({ TableName: this.cfg.table })).then(
      (r) => {
        const def = r.Table?.AttributeDefinitions?.find((a) => a.AttributeName === this.cfg.key);
        if (!def) throw new Error(`${this.label}: "${this.cfg.key}" is not a key attribute of the table`);
        if (def.AttributeType === 'B') throw new Error(`${this.label}: binary keys are not supported`);
        return def.AttributeType === 'N' ? 'number' : 'string';
      },
      (e: Error) => {
        this.keyType = undefined;
        throw new Error(`${this.label}: ${e.name === 'ResourceNotFoundException' ? 'no such table' : e.message}`);
      },
    );
    return this.keyType;
  }

  private toRow(item: Record<string, unknown>, kt: 'string' | 'number'): Row {
    const { [this.cfg.key]: k, ...data } = item;
    return { key: keyFrom(k, kt, this.label), data };
  }
}
