import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableDefinition } from '../../../lib/adapters/aws/dynamodb-store';

/** Static credentials for dynalite: it checks none, but the SDK must sign with something (never real keys). */
export const DYNALITE_CREDENTIALS = { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' };

export function dynaliteClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: DYNALITE_CREDENTIALS, maxAttempts: 3 });
}

let n = 0;
/** Create a fresh progress table (the store's layout) on dynalite; returns its name. */
export async function createProgressTable(client: DynamoDBClient, prefix = 'progress'): Promise<string> {
  const name = `${prefix}-${process.pid}-${++n}`;
  await client.send(new CreateTableCommand(tableDefinition(name)));
  return name;
}
