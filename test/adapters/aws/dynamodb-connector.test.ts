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
