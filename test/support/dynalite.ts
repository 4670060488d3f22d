import type { Server } from 'node:http';
import { freePort } from './ports';

export interface DynaliteServer {
  endpoint: string;
  stop(): Promise<void>;
}

/** Start dynalite (a real DynamoDB-API server, in memory) on 127.0.0.1 on a free port. */
export async function startDynalite(): Promise<DynaliteServer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
