import type { Command } from 'commander';
import { CliError } from './errors';

/** Long-running commands: their requests and runs are traces of their own, not one span for hours. */
const SERVING = new Set(['serve', 'watch', 'monitor']);

/** `--otlp-endpoint URL` / `--otlp-endpoint=URL` anywhere on the command line (read before commander runs, so the tracer exists when actions start). */
export function otlpEndpointArg(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return undefined;
    if (a === '--otlp-endpoint') return argv[i + 1];
    if (a.startsWith('--otlp-endpoint=')) return a.slice('--otlp-endpoint='.length);
  }
  return undefined;
}

/**
 * Run the CLI in a root span `migration-monitor <command path>` when tracing is on (--otlp-endpoint or the
 * OTEL_* variables), so the tracker calls it makes (client spans sending `traceparent`) and what the tracker
 * does with them form one trace; spans are flushed before the process exits.
 */
export async function tracedCli<T>(program: Command, argv: string[], run: () => Promise<T>): Promise<T> {
  program.option('--otlp-endpoint <url>', 'send OpenTelemetry traces to this OTLP/HTTP collector (env OTEL_EXPORTER_OTLP_ENDPOINT)');
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  const endpoint = otlpEndpointArg(argv);
  // No --otlp-endpoint and no OTEL_* variable: tracing is off (no exporter), and nothing of it is loaded
  // (its settings schema pulls in zod: most of a cold start).
  if (endpoint === undefined && !Object.keys(process.env).some((k) => k.startsWith('OTEL_'))) return run();
  const { installTracing } = require('../compose/tracing') as typeof import('../compose/tracing');
  const { EnvError } = require('../compose/env') as typeof import('../compose/env');
  const { withSpan } = require('../core/tracing') as typeof import('../core/tracing');
  let t;
  try {
    t = installTracing(process.env, 'local', command && SERVING.has(command) ? 'local' : 'cli', { endpoint });
  } catch (e) {
    if (e instanceof EnvError) throw new CliError(e.message.replace(/^cli: bad environment: /, 'tracing: '), 2);
    throw e;
  }
  if (!t.enabled) return run();
  program.hook('preAction', (_p, action) => {
    const path: string[] = [];
    for (let c: Command | null = action; c && c !== program; c = c.parent) path.unshift(c.name());
    t.activeSpan()?.updateName(`migration-monitor ${path.join(' ')}`);
  });
  try {
    if (command && SERVING.has(command)) return await run();
    return await withSpan('migration-monitor', { root: true, attributes: { 'process.command': 'migration-monitor', 'migration.service': 'cli' } }, run);
  } finally {
    await t.shutdown();
  }
}
