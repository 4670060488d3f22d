import fs from 'node:fs';
import type { Command } from 'commander';
import { serveHttp, type RunningServer } from '../../adapters/http/server';
import { DemoSimulator } from '../../adapters/demo/demo-simulator';
import type { Route } from '../../core/http';
import { Tracker } from '../../core/tracker/service';
import { trackerApi } from '../../core/tracker/api';
import { dashboardRoutes } from '../../core/ui/dashboard';
import type { ProgressStore } from '../../core/store';
import { CliError } from '../errors';
import { DEFAULT_DATA_DIR, openStore, readTokensFile } from '../local-runtime';
import type { NamedTokens } from '../../core/tracker/identity';
import { namedTokens } from '../../core/tracker/identity';
import { localExtras } from '../local-extras';
import { alertsFromEnv, attachAlerts, type AlertComposition } from '../../compose/alerts';
import type { AlertDispatcher } from '../../core/alerts/dispatcher';
import { EnvError } from '../../compose/env';

export interface LocalServerOptions {
  port?: number;
  host?: string;
  store: ProgressStore;
  token?: string;
  /** Named tokens (name → token): every change is recorded under its token's name. */
  tokens?: NamedTokens;
  demo?: boolean;
  /** Start the search-proxy demo next to the tracker (on proxyPort, default port + 1). */
  proxy?: boolean;
  proxyPort?: number;
  /** Staleness sweep interval (ms). Default 5000. */
  sweepMs?: number;
  /** Alert routing (Slack webhook, SMTP): notices sent in the background, reminders and retries on the sweep. */
  alerts?: AlertComposition;
  log?: (line: string) => void;
}

export interface LocalServer {
  url: string;
  tracker: Tracker;
  server: RunningServer;
  alerts?: AlertDispatcher;
  demo?: DemoSimulator;
  proxyUrl?: string;
  proxyServer?: RunningServer;
  close(): Promise<void>;
}

/** Local mode: tracker API + dashboard (+ /metrics, + search-proxy demo) on 127.0.0.1 over one store. */
export async function startLocalServer(o: LocalServerOptions): Promise<LocalServer> {
  const log = o.log ?? (() => undefined);
  const tracker = new Tracker({ store: o.store });
  const alerts = o.alerts?.channels.length ? attachAlerts(tracker, o.alerts, { wait: false, log }) : undefined;
  const defaultId = o.demo ? 'demo' : 'default';
  if (!o.demo && !(await tracker.exists('default'))) await tracker.initialize('default', { name: 'Default migration' }, { actor: 'local-server' });
  const auth = namedTokens(o);
  const extras = localExtras(tracker, auth);
  const routes: Route[] = [...dashboardRoutes(), ...extras.routes];
  const handler = trackerApi({
    tracker,
    tokens: auth,
    defaultMigrationId: defaultId,
    extraRoutes: routes,
    onServerError: (e) => log(`error: ${(e as Error).stack ?? String(e)}`),
  });
  const port = o.port ?? 8080;
  const server = await serveHttp(handler, { port, host: o.host ?? '127.0.0.1', browserGuard: true, observe: extras.observe }).catch((e: unknown) => {
    throw portError(e, port, '--port N');
  });
  let demo: DemoSimulator | undefined;
  let proxy: { url: string; server: RunningServer; close(): Promise<void> } | undefined;
  try {
    if (o.demo) {
      demo = new DemoSimulator(tracker);
      await demo.start();
    }
    if (o.proxy && extras.startProxy) {
      const proxyPort = o.proxyPort ?? server.port + 1;
      proxy = await extras.startProxy({ port: proxyPort, host: o.host ?? '127.0.0.1' }).catch((e: unknown) => {
        throw portError(e, proxyPort, '--proxy-port N or --no-proxy', 'the search-proxy demo ');
      });
    }
  } catch (e) {
    // Nothing half-started stays behind: a tracker whose store the caller closes would answer 500 forever.
    demo?.stop();
    await server.close();
    throw e;
  }
  // Staleness: a reporter that went quiet is noticed even when nobody is looking at the dashboard.
  // Alerts: reminders of unacknowledged ones and retries of failed deliveries go out on the same beat.
  const sweep = setInterval(() => {
    tracker
      .sweep()
      .catch((e) => log((e as Error).message))
      .then(() => alerts?.sweep())
      .catch((e) => log((e as Error).message));
  }, o.sweepMs ?? 5000);
  sweep.unref();
  return {
    url: server.url,
    tracker,
    server,
    alerts,
    demo,
    proxyUrl: proxy?.url,
    proxyServer: proxy?.server,
    close: async () => {
      clearInterval(sweep);
      demo?.stop();
      await proxy?.close();
      await server.close();
      await alerts?.settled();
      await o.store.close();
    },
  };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('local mode: tracker API and web dashboard on 127.0.0.1 (npm start)')
    .option('--port <n>', 'port for the API and dashboard', '8080')
    .option('--host <host>', 'interface to bind (default 127.0.0.1: not reachable from the network)', '127.0.0.1')
    .option('--data-dir <dir>', `embedded store directory (env MIGRATION_MONITOR_DATA_DIR; default ${DEFAULT_DATA_DIR})`)
    .option('--store <kind>', 'file (default), memory or redis')
    .option('--redis-url <url>', 'Redis URL for --store redis (env REDIS_URL)')
    .option('--token <token>', 'require this bearer token on /api (env MIGRATION_MONITOR_TOKEN); changes are recorded as "token"')
    .option('--tokens-file <file>', 'JSON {"alice": "<token>", ...}: one bearer token per person or job, each change recorded under its name (env MIGRATION_MONITOR_TOKENS_FILE)')
    .option('--demo', 'seed a simulated migration that advances in real time')
    .option('--no-proxy', 'do not start the search-proxy demo')
    .option('--proxy-port <n>', 'port for the search-proxy demo (default: port + 1)')
    .option('--alert-email-to <list>', 'critical alerts by e-mail to these addresses over SMTP (SMTP_HOST...; env ALERT_EMAIL_TO)')
    .option('--alert-email-from <address>', 'sender of alert e-mails (env ALERT_EMAIL_FROM)')
    .option('--alert-routing <file>', 'JSON alert rules: severities → email/pager/slack, dedup/group/digest/re-notify seconds (env ALERT_ROUTING holds the JSON itself)')
    .action(async (opts: { port: string; host: string; dataDir?: string; store?: string; redisUrl?: string; token?: string; tokensFile?: string; demo?: boolean; proxy: boolean; proxyPort?: string; alertEmailTo?: string; alertEmailFrom?: string; alertRouting?: string }) => {
      const port = parsePort(opts.port, '--port');
      const proxyPort = opts.proxyPort === undefined ? undefined : parsePort(opts.proxyPort, '--proxy-port');
      const token = opts.token ?? process.env['MIGRATION_MONITOR_TOKEN'];
      const tokensFile = opts.tokensFile ?? process.env['MIGRATION_MONITOR_TOKENS_FILE'];
      const tokens = tokensFile ? readTokensFile(tokensFile) : undefined;
      if (opts.host !== '127.0.0.1' && opts.host !== 'localhost' && opts.host !== '::1' && !token && !tokens) {
        throw new CliError(`binding to ${opts.host} exposes the API beyond this machine: set --token or --tokens-file (or MIGRATION_MONITOR_TOKEN)`, 2);
      }
      const alerts = localAlerts(opts, port);
      const { store, description } = await openStore(opts);
      let srv: LocalServer;
      try {
        srv = await startLocalServer({ port, host: opts.host, store, token, tokens, alerts, demo: opts.demo, proxy: opts.proxy, proxyPort, log: (l) => process.stderr.write(l + '\n') });
      } catch (e) {
        await store.close();
        throw e;
      }
      const lines = [
        `migration-monitor local mode`,
        `  dashboard   ${srv.url}/admin/migration`,
        `  API         ${srv.url}/api/migration/progress   (migration: ${opts.demo ? 'demo' : 'default'}; pick another with X-Migration-Id or ?migration=)`,
        `  health      ${srv.url}/health`,
        `  store       ${description}`,
        `  auth        ${tokens ? `named bearer tokens required on /api (${Object.keys(tokens).length}: ${Object.keys(tokens).join(', ')})` : token ? 'bearer token required on /api' : 'none (bound to ' + opts.host + ' only): changes are recorded as "anonymous"'}`,
      ];
      lines.push(`  alerts      ${alerts.describe().join('\n              ')}`);
      if (srv.proxyUrl) lines.push(`  proxy       ${srv.proxyUrl}/search   (search proxy over two demo backends; docs/search-proxy.md)`);
      if (opts.demo) lines.push(`  demo        a simulated migration is running`);
      lines.push(`  try: curl -s ${srv.url}/api/migration/progress${token ? ' -H "Authorization: Bearer $MIGRATION_MONITOR_TOKEN"' : ''}`);
      // Handlers first, banner second: a supervisor that stops us as soon as it reads the banner (stdout to a pipe
      // is written synchronously) must find them in place, or the default action kills us without a flush.
      const stopped = new Promise<void>((resolve) => {
        const stop = () => {
          process.stdout.write('stopping (flushing the store)...\n');
          void srv.close().then(resolve, (e) => {
            process.stderr.write(`error while stopping: ${(e as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stdout.write(lines.join('\n') + '\n');
      await stopped;
    });
}

/**
 * Alert channels of local mode from flags and the environment: Slack from ALERT_SLACK_WEBHOOK_URL (or
 * SLACK_WEBHOOK_URL; a secret, never a flag), e-mail over SMTP (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD).
 */
function localAlerts(o: { alertEmailTo?: string; alertEmailFrom?: string; alertRouting?: string; host: string }, port: number): AlertComposition {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (o.alertEmailTo) env['ALERT_EMAIL_TO'] = o.alertEmailTo;
  if (o.alertEmailFrom) env['ALERT_EMAIL_FROM'] = o.alertEmailFrom;
  if (o.alertRouting) {
    try {
      env['ALERT_ROUTING'] = fs.readFileSync(o.alertRouting, 'utf8');
    } catch (e) {
      throw new CliError(`--alert-routing ${o.alertRouting}: ${(e as Error).message}`, 2);
    }
  }
  const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  if (!env['ALERT_DASHBOARD_URL'] && port) env['ALERT_DASHBOARD_URL'] = `http://${host}:${port}/admin/migration?migration={migration}`;
  try {
    return alertsFromEnv(env, 'serve');
  } catch (e) {
    if (e instanceof EnvError) throw new CliError(e.message, 2);
    throw e;
  }
}

/** A port already taken becomes a CliError naming that port and the flag that moves it. */
function portError(e: unknown, port: number, remedy: string, what = ''): unknown {
  if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') return e;
  return new CliError(`${what}port ${port} is in use: pass ${remedy}`, 1);
}

function parsePort(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`${flag} must be a port number 0-65535 (got "${v}")`, 2);
  return n;
}
