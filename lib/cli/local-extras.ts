import { startDemoProxy } from '../adapters/demo/demo-proxy';
import { metricsRoute } from '../adapters/prometheus/metrics';
import type { Route } from '../core/http';
import type { RunningServer } from '../adapters/http/server';
import type { Tracker } from '../core/tracker/service';
import type { NamedTokens } from '../core/tracker/identity';

export interface LocalExtras {
  routes: Route[];
  startProxy?: (o: { port: number; host: string }) => Promise<{ url: string; server: RunningServer; close(): Promise<void> }>;
}

/** The parts of local mode beyond the tracker API: Prometheus /metrics and the search-proxy demo. */
export function localExtras(tracker: Tracker, token?: NamedTokens): LocalExtras {
  return {
    routes: [metricsRoute({ tracker, token })],
    startProxy: (o) => startDemoProxy({ port: o.port, host: o.host, token }),
  };
}
