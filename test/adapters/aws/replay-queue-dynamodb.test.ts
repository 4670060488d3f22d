import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoReplayQueueStore } from '../../../lib/adapters/aws/replay-queue-dynamodb';
import { replayQueueContract } from '../../core/search/replay-queue-contract';
import { startDynalite, type DynaliteServer } from '../../support/dynalite';
import { dynaliteClient } from './dynalite-table';

let dynalite: DynaliteServer;
let client: DynamoDBClient;
const table = 'breaker-state';
let n = 0;
beforeAll(async () => {
  dynalite = await startDynalite();
  client = dynaliteClient(dynalite.endpoint);
  // the proxy's breaker-state table layout (pk/sk strings), which the queue shares
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});
afterAll(async () => {
  client.destroy();
  await dynalite.stop();
});

// each store with its own client, as each Lambda instance has
replayQueueContract('dynamodb (dynalite)', true, async () => {
  const name = `q${++n}`;
  return { open: () => new DynamoReplayQueueStore({ tableName: table, name, clientConfig: { endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' } } }) };
});

it('keeps to its REPLAY# partition: the breaker items beside it are neither read nor counted', async () => {
  const { DynamoBreakerStateStore } = await import('../../../lib/adapters/aws/breaker-state-dynamodb');
  const state = new DynamoBreakerStateStore({ tableName: table, client });
  await state.compareAndSet('search-primary', 0, { state: 'open', version: 1, openUntil: 1, updatedAt: 1, updatedBy: 'x', reason: 'failures' });
  const q = new DynamoReplayQueueStore({ tableName: table, name: 'iso', client });
  await expect(q.load()).resolves.toEqual([]);
  await q.apply([{ target: 'primary', op: 'delete', id: 'BREAKER#x', version: 1, queuedAt: 5 }], []);
  await expect(q.load()).resolves.toEqual([{ target: 'primary', op: 'delete', id: 'BREAKER#x', version: 1, queuedAt: 5 }]);
  await expect(state.get('search-primary')).resolves.toMatchObject({ state: 'open', version: 1 });
});
