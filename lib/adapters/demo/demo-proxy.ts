import * as z from '../../core/zod';
import { json, parseJsonBody, router, type HttpRequest, type HttpResponse, type Route } from '../../core/http';
import { checkAuth } from '../../core/tracker/api';
import type { NamedTokens } from '../../core/tracker/identity';
import { searchProxy, type SearchProxy } from '../../core/search/proxy';
import { proxySettingsSchema, type ProxySettings } from '../../core/search/settings';
import { StaticOperatorSwitch } from '../../core/search/breaker/ports';
import { parseOrThrow } from '../../core/validation-util';
import { DomainError } from '../../core/errors';
import { httpVectorBackend } from '../http/vector-backend';
import { DemoBackend, DemoIndex, demoModeSchema } from './demo-backend';
import { serveHttp, type RunningServer } from '../http/server';
import { PrometheusSink } from '../prometheus/sink';
import { instrumentServer, type BuildInfo } from '../prometheus/server-metrics';
import { proxyStageSchema, StaticStageSwitch, WRITE_LIMITS } from '../../core/search/writes';
import { FileReplayQueueStore } from '../file/replay-queue-file';

export interface DemoProxyOptions {
  port?: number;
  host?: string;
  /** Proxy settings (mode, deadline, breaker thresholds); demo defaults recover quickly. The mode defaults to $SEARCH_PROXY_MODE. */
  settings?: Partial<ProxySettings>;
  /** When set, the demo controls (`/demo/*`) need `Authorization: Bearer <token>`, like the tracker API. */
  token?: string | NamedTokens;
  /** Errors and background problems. Default: stderr. */
  log?: (line: string) => void;
  /** Keep writes a store missed in this file (durable across restarts). Default: memory. */
  replayQueueFile?: string;
  /** What its `migration_build_info` says. Default: version and revision `unknown`. */
  build?: BuildInfo;
}

export interface DemoProxy {
  url: string;
  primaryUrl: string;
  fallbackUrl: string;
  proxy: SearchProxy;
  server: RunningServer;
  close(): Promise<void>;
}

/** Demo defaults: a 2 s budget, 3 failures open, 5 s before a probe, so a newcomer sees a full cycle quickly. */
export const DEMO_SETTINGS: Partial<ProxySettings> = { deadlineMs: 2000, primaryTimeoutMs: 500, consecutiveFailures: 3, resetTimeoutMs: 5000, successThreshold: 2 };

/**
 * Local mode's search proxy: two demo vector backends on 127.0.0.1 ("primary", the new system, and
 * "fallback", the old one with coarser vectors), the proxy on its own port (/search, /health, /metrics), and
 * a control route to fail, slow or restore a demo backend:
 *
 *     POST /demo/backends/primary {"mode": "down" | "slow" | "error" | "ok"}
 *     POST /demo/switch {"position": "open" | "closed" | "auto", "breaker"?: "primary" | "fallback"}  (operator switch, in memory)
 */
export async function startDemoProxy(opts: DemoProxyOptions = {}): Promise<DemoProxy> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const envMode = process.env['SEARCH_PROXY_MODE'];
  // Checked before anything starts, so a bad mode leaves nothing running.
  const settings = parseOrThrow(proxySettingsSchema, { ...DEMO_SETTINGS, ...(envMode ? { mode: envMode } : {}), ...opts.settings }, 'search proxy settings (SEARCH_PROXY_MODE)');
  const primary = await DemoBackend.start({ name: 'primary', index: new DemoIndex({ seed: 7 }) });
  const fallback = await DemoBackend.start({ name: 'fallback', index: new DemoIndex({ seed: 7, quantizeDecimals: 1 }) });
  const backends = { primary, fallback };
  const metrics = new PrometheusSink();
  const observe = instrumentServer(metrics, opts.build ?? { version: 'unknown', revision: 'unknown', runtime: `node ${process.version}` });
  const operatorSwitch = new StaticOperatorSwitch();
  const stageSwitch = new StaticStageSwitch();
  const primaryClient = httpVectorBackend('primary', { kind: 'generic', url: primary.url });
  const fallbackClient = httpVectorBackend('fallback', { kind: 'generic', url: fallback.url });
  const proxy = searchProxy({
    primary: primaryClient,
    fallback: fallbackClient,
    settings,
    metrics,
    metricsText: () => metrics.text(),
    operatorSwitch,
    stageSwitch,
    writers: { primary: primaryClient, fallback: fallbackClient },
    ...(opts.replayQueueFile ? { replayQueue: new FileReplayQueueStore(opts.replayQueueFile) } : {}),
    breaker: { switchRefreshMs: 1000 },
    onError: (ctx, e) => log(`search proxy: ${ctx}: ${(e as Error)?.stack ?? String(e)}`),
  });
  for (const b of [...Object.values(proxy.breakers), ...Object.values(proxy.writeBreakers ?? {})]) {
    b.on('open', (e) => log(`search proxy: breaker ${e.breaker} OPEN (${e.reason})`));
    b.on('half-open', (e) => log(`search proxy: breaker ${e.breaker} HALF-OPEN (${e.reason})`));
    b.on('close', (e) => log(`search proxy: breaker ${e.breaker} CLOSED (${e.reason})`));
  }

  const roleSchema = z.enum(['primary', 'fallback']);
  const authed =
    (h: (req: HttpRequest, params: Record<string, string>) => Promise<HttpResponse>) =>
    async (req: HttpRequest, params: Record<string, string>) => {
      checkAuth(req, opts.token);
      return h(req, params);
    };
  const controlRoutes: Route[] = [
    { method: 'GET', path: '/demo/backends', handler: async () => json(200, { primary: primary.status(), fallback: fallback.status() }) },
    {
      method: 'POST',
      path: '/demo/backends/:role',
      handler: async (req, params) => {
        const role = roleSchema.safeParse(params['role']);
        if (!role.success) throw new DomainError('not_found', `no demo backend "${params['role']}" (primary or fallback)`);
        const m = parseOrThrow(demoModeSchema, parseJsonBody(req), 'demo backend mode');
        const status = await backends[role.data].setMode(m);
        log(`search proxy demo: ${role.data} backend is now "${status.mode}"`);
        return json(200, status);
      },
    },
    // The local operator switch for the stage (Parameter Store on AWS): `migration-monitor cutover/rollback` move it.
    { method: 'GET', path: '/admin/stage', handler: async () => json(200, { stage: proxy.stage(), mode: proxy.readMode(), switch: await stageSwitch.stage() }) },
    {
      method: 'POST',
      path: '/admin/stage',
      handler: async (req) => {
        const { stage } = parseOrThrow(z.strictObject({ stage: z.nullable(proxyStageSchema) }), parseJsonBody(req), 'stage');
        const from = proxy.stage();
        stageSwitch.set(stage);
        await proxy.refreshStage(true);
        log(`search proxy: stage ${from} -> ${proxy.stage()}`);
        return json(200, { stage: proxy.stage(), mode: proxy.readMode(), from });
      },
    },
    {
      method: 'POST',
      path: '/demo/switch',
      handler: async (req) => {
        const { position, breaker } = parseOrThrow(
          z.strictObject({ position: z.enum(['auto', 'open', 'closed']), breaker: z._default(roleSchema, 'primary') }),
          parseJsonBody(req),
          'operator switch',
        );
        const target = proxy.breakers[breaker];
        operatorSwitch.set(target.name, position);
        await target.sync(true);
        return json(200, { breaker: target.name, position, state: target.state });
      },
    },
  ];
  const control = controlRoutes.map((r) => ({ ...r, handler: authed(r.handler) }));
  let server: RunningServer;
  try {
    await proxy.startWrites();
    server = await serveHttp(router([...proxy.routes, ...control], (e) => log(`search proxy: ${(e as Error)?.stack ?? String(e)}`)), {
      port: opts.port ?? 0,
      host: opts.host ?? '127.0.0.1',
      browserGuard: true,
      maxBodyBytes: WRITE_LIMITS.maxBodyBytes,
      observe,
    });
  } catch (e) {
    // e.g. the port is taken: stop the backends already started
    await proxy.close();
    primaryClient.close();
    fallbackClient.close();
    await Promise.all([primary.close(), fallback.close()]);
    throw e;
  }
  return {
    url: server.url,
    primaryUrl: primary.url,
    fallbackUrl: fallback.url,
    proxy,
    server,
    close: async () => {
      await server.close();
      await proxy.close();
      primaryClient.close();
      fallbackClient.close();
      await Promise.all([primary.close(), fallback.close()]);
    },
  };
}
