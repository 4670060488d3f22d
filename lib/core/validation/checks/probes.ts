import net from 'node:net';
import type { CheckOf } from '../config';
import type { ResourceSpec } from '../ports';
import { summarize } from '../percentile';
import { fmtMs, type CheckContext, type CheckOutcome, type CheckRunner } from './context';

const statusOk = (status: number, expect: number[] | undefined, dflt: (s: number) => boolean) => (expect ? expect.includes(status) : dflt(status));
const bodyOf = (b: unknown): string | undefined => (b === undefined ? undefined : typeof b === 'string' ? b : JSON.stringify(b));

/** Latency probe: N requests (after warm-up), a percentile against a threshold; failed requests counted apart. */
export const latencyCheck: CheckRunner<'latency'> = async (c, ctx) => {
  const body = bodyOf(c.body);
  const headers = { ...(body !== undefined && typeof c.body !== 'string' ? { 'content-type': 'application/json' } : {}), ...c.headers };
  const errors: Record<string, number> = {};
  const durations: number[] = [];
  const one = async (measure: boolean) => {
    const t0 = ctx.timer.now();
    let problem: string | undefined;
    try {
      const res = await ctx.fetch(c.url, { method: c.method, headers, body, signal: signalFor(c.timeoutMs, ctx.signal) });
      await res.text();
      if (!statusOk(res.status, c.expectStatus, (s) => s >= 200 && s < 300)) problem = `HTTP ${res.status}`;
    } catch (e) {
      problem = errorName(e);
    }
    const dt = ctx.timer.now() - t0;
    if (!measure) return;
    if (problem) errors[problem] = (errors[problem] ?? 0) + 1;
    else durations.push(dt);
  };
  for (let i = 0; i < c.warmup; i++) await one(false);
  let next = 0;
  const worker = async () => {
    while (next < c.requests) {
      ctx.signal?.throwIfAborted();
      next += 1;
      await one(true);
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.requests) }, worker));
  const stats = summarize(durations);
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  const observed = stats[c.percentile];
  const latencyOk = durations.length > 0 && observed <= c.thresholdMs;
  const errorsOk = failed <= c.maxErrors;
  const parts = [
    durations.length ? `${c.percentile} ${fmtMs(observed)} ${latencyOk ? '<=' : '>'} ${fmtMs(c.thresholdMs)}` : 'no successful request',
    `${c.requests} requests`,
  ];
  if (failed) parts.push(`${failed} failed (${Object.entries(errors).map(([k, v]) => `${k}: ${v}`).join(', ')})${errorsOk ? '' : `, over the ${c.maxErrors} allowed`}`);
  return {
    passed: latencyOk && errorsOk,
    summary: parts.join(', '),
    evidence: {
      url: c.url,
      requests: c.requests,
      concurrency: c.concurrency,
      warmup: c.warmup,
      percentile: c.percentile,
      thresholdMs: c.thresholdMs,
      profile: c.profile,
      latencyMs: stats,
      failedRequests: failed,
      errors,
    },
  };
};

/** HTTP reachability: one request, expected status (default any 2xx/3xx), optional body text. */
export const httpCheck: CheckRunner<'http'> = async (c, ctx) => {
  const t0 = ctx.timer.now();
  try {
    const res = await ctx.fetch(c.url, { method: c.method, headers: c.headers, redirect: 'manual', signal: signalFor(c.timeoutMs, ctx.signal) });
    const text = await res.text();
    const ms = ctx.timer.now() - t0;
    const okStatus = statusOk(res.status, c.expectStatus, (s) => s >= 200 && s < 400);
    const okBody = c.bodyContains === undefined || text.includes(c.bodyContains);
    const why = !okStatus ? `HTTP ${res.status}, expected ${c.expectStatus?.join('/') ?? '2xx or 3xx'}` : !okBody ? `body does not contain ${JSON.stringify(c.bodyContains)}` : `HTTP ${res.status}`;
    return { passed: okStatus && okBody, summary: `${c.url}: ${why} in ${fmtMs(ms)}`, evidence: { url: c.url, status: res.status, ms: Math.round(ms * 100) / 100, bodyMatched: c.bodyContains === undefined ? undefined : okBody } };
  } catch (e) {
    return { passed: false, summary: `${c.url} unreachable: ${errorName(e)}`, evidence: { url: c.url, error: errorName(e) } };
  }
};

/** TCP reachability: a connection is accepted within the timeout. */
export const tcpCheck: CheckRunner<'tcp'> = async (c, ctx) => {
  const t0 = ctx.timer.now();
  const where = `${c.host}:${c.port}`;
  const err = await new Promise<string | null>((resolve) => {
    const s = net.connect({ host: c.host, port: c.port });
    const done = (e: string | null) => {
      clearTimeout(timer);
      s.destroy();
      resolve(e);
    };
    const timer = setTimeout(() => done(`no answer within ${c.timeoutMs} ms`), c.timeoutMs);
    s.once('connect', () => done(null));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
  const ms = Math.round((ctx.timer.now() - t0) * 100) / 100;
  return err
    ? { passed: false, summary: `${where} unreachable: ${err}`, evidence: { host: c.host, port: c.port, error: err } }
    : { passed: true, summary: `${where} accepts connections (${fmtMs(ms)})`, evidence: { host: c.host, port: c.port, ms } };
};

/** Cloud resources through the ResourceChecker ports (AWS SDK / @google-cloud/storage adapters). */
export const awsResourceCheck: CheckRunner<'aws-resource'> = (c, ctx) =>
  resource(ctx, 'aws', { cloud: 'aws', resource: c.resource, name: c.resourceName, region: c.region, endpoint: c.endpoint }, c);
export const gcpResourceCheck: CheckRunner<'gcp-resource'> = (c, ctx) =>
  resource(ctx, 'gcp', { cloud: 'gcp', resource: c.resource, name: c.resourceName, projectId: c.projectId, apiEndpoint: c.apiEndpoint }, c);

async function resource(
  ctx: CheckContext,
  cloud: 'aws' | 'gcp',
  spec: ResourceSpec,
  c: CheckOf<'aws-resource'> | CheckOf<'gcp-resource'>,
): Promise<CheckOutcome> {
  const checker = ctx.resources[cloud];
  if (!checker) return { passed: false, summary: `no ${cloud.toUpperCase()} resource checker is configured in this runtime`, evidence: {} };
  const st = await checker.check(spec, ctx.signal);
  return {
    passed: st.ok,
    summary: `${c.resource} "${c.resourceName}": ${st.state}`,
    evidence: { resource: c.resource, name: c.resourceName, state: st.state, ...st.details },
  };
}

function signalFor(timeoutMs: number, outer?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs);
  return outer ? AbortSignal.any([t, outer]) : t;
}

/** A short name for a request failure: timeout, ECONNREFUSED, ENOTFOUND... */
export function errorName(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return 'timeout';
  if (err?.name === 'AbortError') return 'aborted';
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}
