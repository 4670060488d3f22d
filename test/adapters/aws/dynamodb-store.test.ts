import { DynamoDbProgressStore } from '../../../lib/adapters/aws/dynamodb-store';
import { DEFAULT_PLAN } from '../../../lib/core/plan';
import { newMigration } from '../../../lib/core/tracker/service';
import { describeStoreContract } from '../../core/store-contract';
import { startDynalite, type DynaliteServer } from '../../support/dynalite';
import { createProgressTable, dynaliteClient } from './dynalite-table';
import { DeleteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';

let dynalite: DynaliteServer;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite.stop();
});

const open = (tableName: string) => new DynamoDbProgressStore({ tableName, client: dynaliteClient(dynalite.endpoint) });

describeStoreContract('dynamodb (dynalite)', async () => {
  const admin = dynaliteClient(dynalite.endpoint);
  const tableName = await createProgressTable(admin);
  admin.destroy();
  const store = open(tableName);
  const opened: DynamoDbProgressStore[] = [store];
  return {
    store,
    reopen: async () => {
      const s = open(tableName);
      opened.push(s);
      return s;
    },
    cleanup: async () => {
      for (const s of opened) await s.close();
    },
  };
});

describe('DynamoDbProgressStore specifics', () => {
  it('recovers the activity of a commit whose activity write never happened (crash between the two writes)', async () => {
    const client = dynaliteClient(dynalite.endpoint);
    const tableName = await createProgressTable(client);
    const store = new DynamoDbProgressStore({ tableName, client });
    const s = newMigration('m', 'M', DEFAULT_PLAN, 1000);
    await store.commit({ migrationId: 'm', expectedVersion: 0, state: s, activity: [{ at: 1000, actor: 't', action: 'a', message: 'first' }] });
    await store.commit({ migrationId: 'm', expectedVersion: 1, state: s, activity: [{ at: 2000, actor: 't', action: 'a', message: 'second' }] });
    // Simulate the crash: the activity item of version 2 is gone, only the document knows it.
    await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: 'MIG#m' }, sk: { S: 'ACT#000000000002#00000' } } }));
    expect((await store.readActivity('m')).map((e) => e.message)).toEqual(['first', 'second']);
    // The next commit writes it out again.
    await store.commit({ migrationId: 'm', expectedVersion: 2, state: s, activity: [{ at: 3000, actor: 't', action: 'a', message: 'third' }] });
    const items = await client.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'MIG#m' } } }));
    expect(items.Items?.filter((i) => i['sk']?.S?.startsWith('ACT#')).length).toBe(3);
    await store.close();
    client.destroy();
  });

  it('gives activity items a TTL and keeps only recent idempotency records', async () => {
    const client = dynaliteClient(dynalite.endpoint);
    const tableName = await createProgressTable(client);
    const store = new DynamoDbProgressStore({ tableName, client, activityTtlDays: 10, idempotencyTtlMs: 60_000, maxIdempotencyRecords: 3 });
    const s = newMigration('m', 'M', DEFAULT_PLAN, 1000);
    let v = 0;
    for (const [key, at] of [['a', 0], ['b', 10_000], ['c', 20_000], ['d', 30_000], ['e', 100_000]] as const) {
      const r = await store.commit({ migrationId: 'm', expectedVersion: v++, state: s, activity: [{ at, actor: 't', action: 'x', message: key }], idempotency: { key, requestHash: key, response: {}, createdAt: at } });
      expect(r.ok).toBe(true);
    }
    // 'e' at 100 s: a, b, c, d are older than 60 s → only e remains.
    expect(await store.getIdempotency('m', 'd')).toBeNull();
    expect((await store.getIdempotency('m', 'e'))?.key).toBe('e');
    const items = await client.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'MIG#m' } } }));
    const first = items.Items?.find((i) => i['sk']?.S === 'ACT#000000000001#00000');
    expect(Number(first?.['expiresAt']?.N)).toBe(10 * 86400);
    await store.close();
    client.destroy();
  });

  it('refuses a document over the DynamoDB item budget with a message naming the migration', async () => {
    const client = dynaliteClient(dynalite.endpoint);
    const store = new DynamoDbProgressStore({ tableName: await createProgressTable(client), client });
    const s = newMigration('big', 'x'.repeat(400 * 1024), DEFAULT_PLAN, 1000);
    await expect(store.commit({ migrationId: 'big', expectedVersion: 0, state: s, activity: [] })).rejects.toThrow(/migration "big" document is \d+ bytes/);
    await store.close();
    client.destroy();
  });
});
