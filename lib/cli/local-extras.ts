import { startDemoProxy } from '../adapters/demo/demo-proxy';
import { metricsRoute } from '../adapters/prometheus/metrics';
import { instrumentServer } from '../adapters/prometheus/server-metrics';
import { PrometheusSink } from '../adapters/prometheus/sink';
import { buildInfo } from '../compose/build-info';
import type { AnsweredRequest, Route } from '../core/http';
import type { RunningServer } from '../adapters/http/server';
import type { Tracker } from '../core/tracker/service';
import type { NamedTokens } from '../core/tracker/identity';

export interface LocalExtras {
  routes: Route[];
  /** HTTP request metrics of the tracker server (hand to serveHttp's `observe`). */
  observe: (r: AnsweredRequest) => void;
  startProxy?: (o: { port: number; host: string }) => Promise<{ url: string; server: RunningServer; close(): Promise<void> }>;
}

/** The parts of local mode beyond the tracker API: Prometheus /metrics (with build, process and HTTP metrics) and the search-proxy demo. */
export function localExtras(tracker: Tracker, token?: NamedTokens): LocalExtras {
  const sink = new PrometheusSink();
  const build = buildInfo();
  return {
    routes: [metricsRoute({ tracker, token, sink })],
    observe: instrumentServer(sink, build),
    startProxy: (o) => startDemoProxy({ port: o.port, host: o.host, token, build }),
  };
}
