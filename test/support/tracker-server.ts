import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';

export interface TrackerServer {
  url: string;
  tracker: Tracker;
  stop(): Promise<void>;
}

/** The real tracker API on 127.0.0.1 over the embedded file store in a temp dir. */
export async function startTrackerServer(token = 'tok'): Promise<TrackerServer> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-tracker-'));
  const store = await FileStore.open(dir);
  const tracker = new Tracker({ store });
  const server: RunningServer = await serveHttp(trackerApi({ tracker, token }));
  return {
    url: server.url,
    tracker,
    stop: async () => {
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
