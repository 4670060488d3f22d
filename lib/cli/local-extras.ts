import { startDemoProxy } from '../adapters/local/demo-proxy';
import type { Route } from '../core/http';
import type { Tracker } from '../core/tracker';

export interface LocalExtras {
  routes: Route[];
  startProxy?: (o: { port: number; host: string }) => Promise<{ url: string; close(): Promise<void> }>;
}

/** Optional parts of local mode contributed by other modules (Prometheus /metrics, the search-proxy demo). */
export async function localExtras(_tracker: Tracker): Promise<LocalExtras> {
  return {
    routes: [],
    startProxy: (o) => startDemoProxy({ port: o.port, host: o.host }),
  };
}
