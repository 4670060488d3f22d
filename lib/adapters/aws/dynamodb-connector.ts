import { DescribeContinuousBackupsCommand, DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, type KeySchemaElement, type Projection } from '@aws-sdk/client-dynamodb';
import type { SchemaObject, SchemaSnapshot } from '../../core/validation/schema';
import { BatchGetCommand, DynamoDBDocumentClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { BATCH_THROTTLE_RETRY, retry } from '../../core/retry';
import type { ConnectorConfig } from '../../core/validation/config';
import { chunks, type Key, keyColumns, keyFrom, keyOfParts, keyParts, keyRangeByScan, keyTypes, type KeyType, type Row, type ScanOptions, type SourceConnector } from '../../core/validation/connector';

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
  private keyType?: Promise<KeyType[]>;
  /** The key attributes: the partition key, and the sort key for a composite key. */
  private readonly keys: string[];

  constructor(
    private readonly cfg: Omit<DynamoConfig, 'type'>,
    client?: DynamoDBClient,
  ) {
    this.label = `dynamodb:${cfg.table}`;
    this.keys = keyColumns(cfg.key);
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
    const names: Record<string, string> = Object.fromEntries(this.keys.map((k, i) => [`#k${i}`, k]));
    const values: Record<string, unknown> = {};
    const filter: string[] = [];
    // (pk, sk) > (a, b)  ⇔  pk > a OR (pk = a AND sk > b): the engine's key order, as a filter
    const bound = (k: Key, name: string, last: '>' | '<=') => {
      const ps = keyParts(k).map((p, i) => keyFrom(p, kt[i]!, this.label));
      ps.forEach((p, i) => (values[`:${name}${i}`] = p));
      if (ps.length === 1) return `#k0 ${last} :${name}0`;
      return `(#k0 ${last === '>' ? '>' : '<'} :${name}0 OR (#k0 = :${name}0 AND #k1 ${last} :${name}1))`;
    };
    if (opts.after !== undefined) filter.push(bound(opts.after, 'after', '>'));
    if (opts.through !== undefined) filter.push(bound(opts.through, 'through', '<='));
    const input: Partial<ScanCommandInput> = {
      ...(filter.length || opts.keysOnly ? { ExpressionAttributeNames: names } : {}),
      ...(filter.length ? { FilterExpression: filter.join(' AND '), ExpressionAttributeValues: values } : {}),
      ...(opts.keysOnly ? { ProjectionExpression: this.keys.map((_, i) => `#k${i}`).join(', ') } : {}),
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
      let pending: Array<Record<string, unknown>> = part.map((k) => Object.fromEntries(keyParts(k).map((p, i) => [this.keys[i]!, keyFrom(p, kt[i]!, this.label)])));
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

  /**
   * The table's schema: key schema with attribute types, global and local secondary indexes (keys and
   * projection), TTL and point-in-time recovery. Objects are named without the table name, so tables named
   * per environment compare. An endpoint that does not implement TTL or PITR (an emulator) reports `unknown`.
   */
  async describeSchema(_opts: unknown, signal?: AbortSignal): Promise<SchemaSnapshot> {
    const TableName = this.cfg.table;
    const t = (await this.raw.send(new DescribeTableCommand({ TableName }), { abortSignal: signal })).Table ?? {};
    const types = new Map((t.AttributeDefinitions ?? []).map((a) => [a.AttributeName!, a.AttributeType!]));
    const keys = (ks: KeySchemaElement[] = []) => ks.map((k) => `${k.AttributeName} ${types.get(k.AttributeName!) ?? '?'} ${k.KeyType}`).join(', ');
    const projection = (p: Projection = {}) => [p.ProjectionType ?? 'ALL', ...(p.NonKeyAttributes ?? []).slice().sort()].join(' ');
    const objects: SchemaObject[] = [{ kind: 'key schema', name: 'table', props: { keys: keys(t.KeySchema) } }];
    for (const g of t.GlobalSecondaryIndexes ?? []) objects.push({ kind: 'gsi', name: g.IndexName!, props: { keys: keys(g.KeySchema), projection: projection(g.Projection) } });
    for (const l of t.LocalSecondaryIndexes ?? []) objects.push({ kind: 'lsi', name: l.IndexName!, props: { keys: keys(l.KeySchema), projection: projection(l.Projection) } });
    const optional = async <T>(f: () => Promise<T>): Promise<T | 'unknown'> =>
      f().catch((e: Error) => {
        if (/UnknownOperation|not (supported|implemented)/i.test(`${e.name} ${e.message}`)) return 'unknown' as const;
        throw e;
      });
    const ttl = await optional(async () => (await this.raw.send(new DescribeTimeToLiveCommand({ TableName }), { abortSignal: signal })).TimeToLiveDescription);
    objects.push({ kind: 'ttl', name: 'table', props: ttl === 'unknown' ? { status: 'unknown' } : { status: ttl?.TimeToLiveStatus ?? 'DISABLED', attribute: ttl?.AttributeName ?? null } });
    const pitr = await optional(async () => (await this.raw.send(new DescribeContinuousBackupsCommand({ TableName }), { abortSignal: signal })).ContinuousBackupsDescription);
    objects.push({ kind: 'pitr', name: 'table', props: { status: pitr === 'unknown' ? 'unknown' : pitr?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus ?? 'DISABLED' } });
    return { scope: `DynamoDB table ${TableName}`, objects, sequences: [], foreignKeys: [] };
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

  /**
   * The key's types: from the config, else from the table's key schema (N → number, S → string). The
   * configured key must be the table's key schema (partition key, and sort key when the table has one), so
   * every configured key names exactly one item.
   */
  private keyTypeOf(): Promise<KeyType[]> {
    this.keyType ??= this.raw.send(new DescribeTableCommand({ TableName: this.cfg.table })).then(
      (r) => {
        const schema = (r.Table?.KeySchema ?? []).slice().sort((a, b) => (a.KeyType === 'HASH' ? -1 : b.KeyType === 'HASH' ? 1 : 0)).map((k) => k.AttributeName!);
        if (schema.length && schema.join(',') !== this.keys.join(',')) {
          throw new Error(`${this.label}: the configured key (${this.keys.join(', ')}) is not the table's key (${schema.join(', ')}): set key: ${schema.length > 1 ? `[${schema.join(', ')}]` : schema[0]}`);
        }
        const configured = this.cfg.keyType === undefined ? undefined : keyTypes(this.cfg.keyType, this.keys.length);
        return this.keys.map((k, i) => {
          if (configured) return configured[i]!;
          const def = r.Table?.AttributeDefinitions?.find((a) => a.AttributeName === k);
          if (!def) throw new Error(`${this.label}: "${k}" is not a key attribute of the table`);
          if (def.AttributeType === 'B') throw new Error(`${this.label}: binary keys are not supported`);
          return def.AttributeType === 'N' ? 'number' : 'string';
        });
      },
      (e: Error) => {
        this.keyType = undefined;
        throw new Error(`${this.label}: ${e.name === 'ResourceNotFoundException' ? 'no such table' : e.message}`);
      },
    );
    return this.keyType;
  }

  private toRow(item: Record<string, unknown>, kt: KeyType[]): Row {
    const data = { ...item };
    for (const k of this.keys) delete data[k];
    return { key: keyOfParts(this.keys.map((k) => item[k]), kt, this.label), data };
  }
}
