import { PutCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoBreakerStateStore } from '../../../lib/adapters/aws/breaker-state-dynamodb';
import { DynamoDbProgressStore } from '../../../lib/adapters/aws/dynamodb-store';
import { breakerStateContract } from '../../core/search/breaker/state-contract';
import { startDynalite, type DynaliteServer } from '../../support/dynalite';
import { createProgressTable, dynaliteClient, DYNALITE_CREDENTIALS } from './dynalite-table';

let dynalite: DynaliteServer;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite.stop();
});

// The breaker state shares the progress table's layout (pk/sk), so a deployment can keep both in one table.
breakerStateContract('dynamodb (dynalite)', async () => {
  const admin = dynaliteClient(dynalite.endpoint);
  const tableName = await createProgressTable(admin, 'breaker');
  admin.destroy();
  // The store makes (and on close destroys) its own client.
  return new DynamoBreakerStateStore({ tableName, clientConfig: { endpoint: dynalite.endpoint, region: 'us-east-1', credentials: DYNALITE_CREDENTIALS } });
});

const clients: Array<{ destroy(): void }> = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});
const clientFor = () => {
  const c = dynaliteClient(dynalite.endpoint);
  clients.push(c);
  return c;
};

it('lives next to the progress store in one table without disturbing it', async () => {
  const client = clientFor();
  const tableName = await createProgressTable(client, 'shared');
  const breakers = new DynamoBreakerStateStore({ tableName, client });
  const progress = new DynamoDbProgressStore({ tableName, client });
  await breakers.compareAndSet('search-primary', 0, { state: 'open', version: 1, openUntil: 2, updatedAt: 1, updatedBy: 'a', reason: 'failures' });
  await expect(progress.listMigrations()).resolves.toEqual([]);
  await expect(breakers.get('search-primary')).resolves.toMatchObject({ state: 'open', version: 1 });
});

it('refuses a record it cannot read, naming breaker and table', async () => {
  const client = clientFor();
  const tableName = await createProgressTable(client, 'bad');
  await DynamoDBDocumentClient.from(client).send(new PutCommand({ TableName: tableName, Item: { pk: 'BREAKER#x', sk: 'STATE', state: 'open', version: 'one' } }));
  await expect(new DynamoBreakerStateStore({ tableName, client }).get('x')).rejects.toThrow(new RegExp(`breaker state for "x" in table ${tableName} is not valid: version`));
});

it('refuses a version that does not follow the expected one', async () => {
  const client = clientFor();
  const store = new DynamoBreakerStateStore({ tableName: await createProgressTable(client, 'ver'), client });
  await expect(store.compareAndSet('x', 0, { state: 'open', version: 5, openUntil: 1, updatedAt: 1, updatedBy: 'a', reason: 'failures' })).rejects.toThrow(/from 0 to 1/);
});
