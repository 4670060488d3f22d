import { gunzipSync } from 'node:zlib';
import * as z from '../zod';
import { DomainError } from '../errors';
import { errorResponse, json, jsonDepthExceeds, methodNotAllowed, parseJsonBody, type HttpHandler } from '../http';
import { LIMITS } from '../model';
import { parseOrThrow } from '../validation-util';
import { withSpan } from '../tracing';
import type { LineOutcome, LogAnalyzer, LogLine } from './analyzer';

/** A CloudWatch Logs subscription delivery, once base64-decoded and gunzipped. */
const cloudWatchLogsDataSchema = z.object({
  messageType: z.enum(['DATA_MESSAGE', 'CONTROL_MESSAGE']),
  logGroup: z.string(),
  logStream: z.string(),
  logEvents: z.array(z.object({ id: z.string().check(z.minLength(1)), timestamp: z.number(), message: z.string() })),
});

export const cloudWatchLogsEventSchema = z.object({ awslogs: z.object({ data: z.string().check(z.minLength(1)) }) });

/**
 * The lines of a CloudWatch Logs subscription event (`{awslogs: {data}}`: base64 of gzipped JSON). Each
 * line's source is `logGroup/logStream` (one stream per process: the run identity) and its key the log
 * event id (unique, so redeliveries apply nothing twice). A CONTROL_MESSAGE (sent when the subscription is
 * created) has no lines.
 */
export function cloudWatchLogsLines(event: unknown): LogLine[] {
  const e = parseOrThrow(cloudWatchLogsEventSchema, event, 'CloudWatch Logs event');
  let decoded: unknown;
  try {
    decoded = JSON.parse(gunzipSync(Buffer.from(e.awslogs.data, 'base64')).toString('utf8'));
  } catch (err) {
    throw new DomainError('bad_request', `CloudWatch Logs event data is not base64 gzipped JSON: ${(err as Error).message}`);
  }
  const d = parseOrThrow(cloudWatchLogsDataSchema, decoded, 'CloudWatch Logs data');
  if (d.messageType === 'CONTROL_MESSAGE') return [];
  const source = `${d.logGroup}/${d.logStream}`;
  return d.logEvents.flatMap((le) =>
    // One event may hold several lines (a multi-line message): each is a line of its own.
    le.message.split('\n').map((text, i) => ({ text, source, key: `cwl:${le.id}${i ? `:${i}` : ''}` })),
  );
}

/** A Pub/Sub push request (the envelope Pub/Sub POSTs to a push endpoint). */
export const pubSubPushSchema = z.object({
  message: z.object({
    data: z._default(z.string(), ''),
    messageId: z.string().check(z.minLength(1)),
    attributes: z.optional(z.record(z.string(), z.string())),
    publishTime: z.optional(z.string()),
  }),
  subscription: z.string().check(z.minLength(1)),
});

/** The part of a Cloud Logging LogEntry a sink publishes that the analyzer needs. */
const logEntrySchema = z.object({
  insertId: z.optional(z.string()),
  logName: z._default(z.string(), 'unknown-log'),
  textPayload: z.optional(z.string()),
  jsonPayload: z.optional(z.record(z.string(), z.unknown())),
  resource: z.optional(z.object({ type: z.optional(z.string()), labels: z.optional(z.record(z.string(), z.string())) })),
  labels: z.optional(z.record(z.string(), z.string())),
});

export type PubSubLines = { kind: 'lines'; lines: LogLine[] } | { kind: 'malformed'; reason: string; key: string };

/**
 * The log line inside a Pub/Sub push from a Cloud Logging sink: `textPayload` as it is, `jsonPayload` as a
 * JSON line (with the entry's labels merged in when the payload lacks them). The source is the log name and
 * the resource (service, revision, instance / job, execution): the run identity. A push that is not a
 * Pub/Sub envelope is a 400; an envelope whose data is not a LogEntry is reported `malformed` (acknowledged,
 * counted: redelivering it would not fix it).
 */
export function pubSubLines(body: unknown): PubSubLines {
  const env = parseOrThrow(pubSubPushSchema, body, 'Pub/Sub push');
  const key = `gcl:${env.message.messageId}`;
  let entry: z.output<typeof logEntrySchema>;
  try {
    const data = Buffer.from(env.message.data, 'base64').toString('utf8');
    // A payload nested beyond the request limit would overflow the stack when re-serialized below.
    if (jsonDepthExceeds(data, LIMITS.maxJsonDepth)) return { kind: 'malformed', key, reason: `message data is nested deeper than ${LIMITS.maxJsonDepth} levels` };
    const r = logEntrySchema.safeParse(JSON.parse(data));
    if (!r.success) return { kind: 'malformed', key, reason: `not a LogEntry: ${r.error.issues[0]?.message ?? 'invalid'}` };
    entry = r.data;
  } catch (e) {
    return { kind: 'malformed', key, reason: `message data is not base64 JSON: ${(e as Error).message}` };
  }
  const res = entry.resource?.labels ?? {};
  const source = [entry.logName, entry.resource?.type, ...Object.keys(res).sort().map((k) => res[k])].filter(Boolean).join('|');
  const entryKey = entry.insertId ? `gcl:${entry.logName}:${entry.insertId}` : key;
  if (entry.textPayload !== undefined) {
    return { kind: 'lines', lines: entry.textPayload.split('\n').map((text, i) => ({ text, source, key: `${entryKey}${i ? `:${i}` : ''}` })) };
  }
  if (entry.jsonPayload) {
    return { kind: 'lines', lines: [{ text: JSON.stringify({ ...entry.labels, ...entry.jsonPayload }), source, key: entryKey }] };
  }
  return { kind: 'lines', lines: [] };
}

export type IngestSummary = Record<LineOutcome, number>;

/** Feed lines in order; a tracker failure throws (the platform redelivers, idempotency keys keep it exact). */
export function ingestLines(analyzer: LogAnalyzer, lines: LogLine[]): Promise<IngestSummary> {
  return withSpan('migration.logs.batch', { attributes: { 'migration.logs.lines': lines.length } }, async (span) => {
    const summary: IngestSummary = { applied: 0, rejected: 0, ignored: 0, malformed: 0, empty: 0 };
    for (const l of lines) summary[await analyzer.process(l)] += 1;
    span.setAttributes({ 'migration.logs.applied': summary.applied, 'migration.logs.rejected': summary.rejected, 'migration.logs.ignored': summary.ignored });
    return summary;
  });
}

/**
 * The Pub/Sub push endpoint (POST, any path): 200 with a summary once the lines are in the tracker, 400
 * for a request that is not a push envelope, 5xx (redelivery) when the tracker failed. Authentication is
 * Cloud Run's (the push subscription's OIDC token, checked before the request arrives).
 */
export function pubSubPushHandler(
  analyzer: LogAnalyzer,
  hooks: { onMalformed?: (key: string, reason: string) => void; onServerError?: (e: unknown) => void } = {},
): HttpHandler {
  return async (req) => {
    if (req.method !== 'POST') return methodNotAllowed(['POST'], 'Pub/Sub pushes with POST');
    try {
      const parsed = pubSubLines(parseJsonBody(req));
      if (parsed.kind === 'malformed') {
        hooks.onMalformed?.(parsed.key, parsed.reason);
        return json(200, { malformed: 1, reason: parsed.reason });
      }
      return json(200, await ingestLines(analyzer, parsed.lines));
    } catch (e) {
      return errorResponse(e, hooks.onServerError);
    }
  };
}
