import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbConnector } from '../../../lib/adapters/aws/dynamodb-connector';
import { validationDeps } from '../../../lib/compose/validation-runtime';
import { validateConfig } from '../../../lib/core/validation/config';
import { runValidation } from '../../../lib/core/validation/engine';
import { collect as all } from '../../../lib/core/validation/streams';
import { startDynalite, type DynaliteServer } from '../../support/dynalite';
import { byProblem, PLANTED, plantedData, type PlantedRecord } from '../../support/planted';

let ddb: DynaliteServer;
let client: DynamoDBClient;
let dir: string;
const { source, target } = plantedData();
const creds = { accessKeyId: 'test', secretAccessKey: 'test' };

async function createTable(name: string, keyType: 'N' | 'S', items: object[]) {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: keyType }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const doc = DynamoDBDocumentClient.from(client);
  for (let i = 0; i < items.length; i += 25) {
    await doc.send(new BatchWriteCommand({ RequestItems: { [name]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item: Item as Record<string, unknown> } })) } }));
  }
}

/** Embeddings as float32 little-endian bytes (how many vector stores keep them in DynamoDB). */
const asBinary = (r: PlantedRecord) => {
  const b = Buffer.alloc(r.embedding.length * 4);
  r.embedding.forEach((x, i) => b.writeFloatLE(x, i * 4));
  return { ...r, embedding: new Uint8Array(b) };
};

beforeAll(async () => {
  ddb = await startDynalite();
  process.env['AWS_ACCESS_KEY_ID'] = creds.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = creds.secretAccessKey;
  client = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint, credentials: creds });
  await createTable('source', 'N', source);
  await createTable('target', 'N', target.map(asBinary));
  await createTable('strings', 'S', [{ id: 'b' }, { id: 'a' }, { id: 'c', n: 1 }]);
  dir = await mkdtemp(join(tmpdir(), 'mm-ddb-test-'));
});
afterAll(async () => {
  client?.destroy();
  await ddb?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const conn = (table: string, extra: Partial<ConstructorParameters<typeof DynamoDbConnector>[0]> = {}) =>
  new DynamoDbConnector({ table, key: 'id', region: 'us-east-1', endpoint: ddb.endpoint, segments: 1, consistentRead: false, ...extra });


describe('DynamoDB connector (dynalite)', () => {
  it('counts and scans with parallel segments, filters key ranges, learns the key type from the table', async () => {
    const c = conn('source', { segments: 3 });
    try {
      expect(await c.count()).toBe(500);
      const rows = await all(c.scan({ batchSize: 40 }));
      expect(rows.map((r) => r.key).sort((a, b) => (a as number) - (b as number))).toEqual(source.map((r) => r.id));
      const range = await all(c.scan({ after: 10, through: 20, batchSize: 100 }));
      expect(range.map((r) => r.key).sort((a, b) => (a as number) - (b as number))).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      expect(await c.keyRange()).toEqual({ min: 1, max: 500 });
      const strings = conn('strings');
      expect((await all(strings.scan({ batchSize: 10 }))).map((r) => r.key).sort()).toEqual(['a', 'b', 'c']);
      await strings.close();
    } finally {
      await c.close();
    }
  });

  it('stops a scan early without leaking its segment workers', async () => {
    const c = conn('source', { segments: 4 });
    let n = 0;
    for await (const b of c.scan({ batchSize: 10 })) {
      n += b.length;
      if (n >= 30) break;
    }
    expect(n).toBeGreaterThanOrEqual(30);
    expect(await c.count()).toBe(500); // the client still works
    await c.close();
  });

  it('gets items in batches of 100 (BatchGetItem), absent keys simply missing', async () => {
    const c = conn('target');
    try {
      const keys = Array.from({ length: 260 }, (_, i) => i + 1);
      const rows = await c.get(keys);
      expect(rows).toHaveLength(258); // 17 and 250 were deleted from the target
      const r42 = rows.find((r) => r.key === 42)!;
      expect(r42.data['embedding']).toBeInstanceOf(Uint8Array);
    } finally {
      await c.close();
    }
  });

  it('names an unknown table', async () => {
    const c = conn('nope');
    await expect(c.get([1])).rejects.toThrow(/dynamodb:nope: no such table/);
    await c.close();
  });
});

describe('DynamoDB ↔ DynamoDB and DynamoDB ↔ JSONL consistency with planted differences', () => {
  const expected = { missing: [...PLANTED.missing], orphan: [...PLANTED.orphans], changed: [...PLANTED.changed] };
  const vector = { field: 'embedding', epsilon: PLANTED.epsilon };

  it('diff, checksum and sample find exactly the planted differences (vectors as lists vs float32 bytes)', async () => {
    await writeFile(join(dir, 'target.jsonl'), target.map((t) => JSON.stringify(t)).join('\n'));
    const cfg = validateConfig({
      connectors: {
        src: { type: 'dynamodb', table: 'source', key: 'id', endpoint: ddb.endpoint, region: 'us-east-1', segments: 2 },
        dst: { type: 'dynamodb', table: 'target', key: 'id', endpoint: ddb.endpoint, region: 'us-east-1' },
        file: { type: 'file', path: 'target.jsonl', key: 'id', keyType: 'number' },
      },
      options: { sortMemoryRows: 100 },
      checks: [
        { name: 'rows', kind: 'count', source: 'src', target: 'dst' },
        { name: 'full', kind: 'diff', source: 'src', target: 'dst', vector },
        { name: 'bisect', kind: 'checksum', source: 'src', target: 'file', vector, leafRows: 16 },
        { name: 'sample', kind: 'sample', source: 'src', target: 'dst', vector, sampleSize: 500, orphanSampleSize: 499 },
        { name: 'vs-file', kind: 'diff', source: 'src', target: 'file', vector },
      ],
    });
    const r = await runValidation(cfg, validationDeps(cfg, { spoolDir: dir, baseDir: dir }));
    const ev = (n: string) => r.checks.find((c) => c.name === n)!.evidence as Record<string, any>;
    for (const c of r.checks) expect(c.error).toBeUndefined();
    expect(ev('rows')).toMatchObject({ source: 500, target: 499 });
    for (const n of ['full', 'bisect', 'sample', 'vs-file']) expect(byProblem(ev(n).mismatches)).toEqual(expected);
    expect(ev('full').vectors).toMatchObject({ compared: 497, overEpsilon: 1 });
    expect(ev('bisect')).toMatchObject({ mode: 'engine', withinTolerance: 1 });
    expect(ev('sample').sampleMethod).toBe('scan');
  });
});

describe('DynamoDB partition + sort keys (dynalite)', () => {
  const items = (drop?: string) => {
    const out: Array<Record<string, unknown>> = [];
    for (let u = 1; u <= 30; u++) for (const ts of [100, 200, 300]) if (`${u}/${ts}` !== drop) out.push({ user: `u${String(u).padStart(2, '0')}`, ts, score: u * ts });
    return out;
  };
  beforeAll(async () => {
    for (const [name, rows] of [['events_src', items()], ['events_dst', items('7/200').concat([{ user: 'u99', ts: 1, score: 0 }])]] as const) {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: [{ AttributeName: 'user', KeyType: 'HASH' }, { AttributeName: 'ts', KeyType: 'RANGE' }],
          AttributeDefinitions: [{ AttributeName: 'user', AttributeType: 'S' }, { AttributeName: 'ts', AttributeType: 'N' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const doc = DynamoDBDocumentClient.from(client);
      for (let i = 0; i < rows.length; i += 25) await doc.send(new BatchWriteCommand({ RequestItems: { [name]: rows.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
    const doc = DynamoDBDocumentClient.from(client);
    await doc.send(new BatchWriteCommand({ RequestItems: { events_dst: [{ PutRequest: { Item: { user: 'u03', ts: 300, score: -1 } } }] } }));
  });

  it('reads (partition, sort) keys, filters composite ranges and gets by both attributes', async () => {
    const c = conn('events_src', { key: ['user', 'ts'] });
    try {
      const keys = (await all(c.scan({ after: ['u02', 200], through: ['u03', 200], batchSize: 50 }))).map((r) => r.key);
      expect(keys.sort()).toEqual([['u02', 300], ['u03', 100], ['u03', 200]].sort());
      const got = await c.get([['u05', 100], ['u05', 999]]);
      expect(got).toEqual([{ key: ['u05', 100], data: { score: 500 } }]);
    } finally {
      await c.close();
    }
  });

  it('diff, checksum and sample name the composite keys; a key that is not the table key is refused', async () => {
    const cfg = validateConfig({
      connectors: {
        src: { type: 'dynamodb', table: 'events_src', key: ['user', 'ts'], region: 'us-east-1', endpoint: ddb.endpoint },
        dst: { type: 'dynamodb', table: 'events_dst', key: ['user', 'ts'], region: 'us-east-1', endpoint: ddb.endpoint },
        half: { type: 'dynamodb', table: 'events_dst', key: 'user', region: 'us-east-1', endpoint: ddb.endpoint },
      },
      checks: [
        { name: 'full', kind: 'diff', source: 'src', target: 'dst' },
        { name: 'bisect', kind: 'checksum', source: 'src', target: 'dst', leafRows: 8 },
        { name: 'sampled', kind: 'sample', source: 'src', target: 'dst', sampleSize: 500, orphanSampleSize: 500, successRate: 100 },
        { name: 'partition only', kind: 'diff', source: 'src', target: 'half' },
      ],
    });
    const r = await runValidation(cfg, validationDeps(cfg));
    for (const c of r.checks.slice(0, 3)) {
      expect(c.error).toBeUndefined();
      const m = (c.evidence['mismatches'] as Array<{ key: unknown; problem: string }>).map((x) => `${x.problem} ${JSON.stringify(x.key)}`).sort();
      expect(m).toEqual(['changed ["u03",300]', 'missing ["u07",200]', 'orphan ["u99",1]']);
    }
    expect(r.checks[3]!.error).toMatch(/target connector "half" \(dynamodb:events_dst\): the configured key \(user\) is not the table's key \(user, ts\): set key: \[user, ts\]/);
  });
});

describe('schema check on DynamoDB (dynalite)', () => {
  beforeAll(async () => {
    const make = (TableName: string, gsiKey: string, projection: 'ALL' | 'KEYS_ONLY') =>
      client.send(
        new CreateTableCommand({
          TableName,
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'N' },
            { AttributeName: gsiKey, AttributeType: 'S' },
          ],
          GlobalSecondaryIndexes: [{ IndexName: 'by_email', KeySchema: [{ AttributeName: gsiKey, KeyType: 'HASH' }], Projection: { ProjectionType: projection } }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    await make('schema_src', 'email', 'ALL');
    await make('schema_same', 'email', 'ALL');
    await make('schema_dst', 'mail', 'KEYS_ONLY');
  });

  it('compares key schema and GSIs by name (tables named per environment compare); TTL and PITR as far as the endpoint tells', async () => {
    const ep = { region: 'us-east-1', endpoint: ddb.endpoint };
    const cfg = validateConfig({
      connectors: {
        src: { type: 'dynamodb', table: 'schema_src', key: ['pk', 'sk'], ...ep },
        same: { type: 'dynamodb', table: 'schema_same', key: ['pk', 'sk'], ...ep },
        dst: { type: 'dynamodb', table: 'schema_dst', key: ['pk', 'sk'], ...ep },
      },
      checks: [
        { name: 'same', kind: 'schema', source: 'src', target: 'same' },
        { name: 'drift', kind: 'schema', source: 'src', target: 'dst' },
      ],
    });
    const r = await runValidation(cfg, validationDeps(cfg));
    const [same, drift] = r.checks;
    expect(same!.error).toBeUndefined();
    expect(same!.passed).toBe(true);
    expect(drift!.passed).toBe(false);
    expect((drift!.evidence['differences'] as Array<{ object: string; detail: string }>).map((d) => `${d.object}: ${d.detail}`)).toEqual([
      'gsi by_email: keys: email S HASH → mail S HASH; projection: ALL → KEYS_ONLY',
    ]);
    // what dynalite says about TTL and PITR is recorded, whatever it supports
    const { DynamoDbConnector: C } = await import('../../../lib/adapters/aws/dynamodb-connector');
    const snap = await new C({ table: 'schema_src', key: ['pk', 'sk'], segments: 1, consistentRead: false, ...ep }).describeSchema({});
    expect(snap.objects.map((o) => o.kind)).toEqual(['key schema', 'gsi', 'ttl', 'pitr']);
    expect(snap.objects[0]!.props).toEqual({ keys: 'pk S HASH, sk N RANGE' });
  });
});

describe('schema: TTL and PITR (dynalite cannot enable them: the answers of DynamoDB are played back)', () => {
  const answering = (ttl: object, pitr: string) =>
    Object.assign(new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: creds }), {
      send: async (cmd: { constructor: { name: string } }) => {
        switch (cmd.constructor.name) {
          case 'DescribeTableCommand':
            return { Table: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }] } };
          case 'DescribeTimeToLiveCommand':
            return { TimeToLiveDescription: ttl };
          case 'DescribeContinuousBackupsCommand':
            return { ContinuousBackupsDescription: { ContinuousBackupsStatus: 'ENABLED', PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: pitr } } };
        }
        throw new Error(`unexpected ${cmd.constructor.name}`);
      },
    }) as unknown as DynamoDBClient;

  it('a TTL or PITR left disabled on the target is a difference', async () => {
    const conns = {
      src: new DynamoDbConnector({ table: 'a', key: 'id', segments: 1, consistentRead: false }, answering({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expires_at' }, 'ENABLED')),
      dst: new DynamoDbConnector({ table: 'b', key: 'id', segments: 1, consistentRead: false }, answering({ TimeToLiveStatus: 'DISABLED' }, 'DISABLED')),
    };
    const cfg = validateConfig({ connectors: { src: { type: 'dynamodb', table: 'aaa', key: 'id' }, dst: { type: 'dynamodb', table: 'bbb', key: 'id' } }, checks: [{ kind: 'schema', source: 'src', target: 'dst' }] });
    const r = await runValidation(cfg, { createConnector: (n) => conns[n as 'src' | 'dst'] });
    expect((r.checks[0]!.evidence['differences'] as Array<{ object: string; detail: string }>).map((d) => `${d.object}: ${d.detail}`)).toEqual([
      'pitr table: status: ENABLED → DISABLED',
      'ttl table: attribute: expires_at → none; status: ENABLED → DISABLED',
    ]);
  });
});
