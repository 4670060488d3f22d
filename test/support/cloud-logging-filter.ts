/**
 * Evaluates the subset of the Cloud Logging query language the stack's log-based metrics use, against a log
 * entry built the way Cloud Run builds one from a stdout JSON line (`jsonPayload`, `resource`, `severity`).
 * Strict on purpose: any clause outside the subset throws, so a filter the stack starts to write in another
 * form fails the matrix test instead of matching nothing (or everything) silently.
 *
 * Supported: clauses joined by ` AND `; `path="v"`; `path=("a" OR "b")`; `path:*`; `path OP number` with
 * OP in > >= < <= =; `severity>=LEVEL`.
 */
export interface LogEntry {
  resource: { type: string; labels: Record<string, string> };
  severity: string;
  jsonPayload: Record<string, unknown>;
}

const SEVERITIES = ['DEFAULT', 'DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY'];

function valueAt(entry: LogEntry, path: string): unknown {
  let v: unknown = entry;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function clause(entry: LogEntry, c: string): boolean {
  let m: RegExpExecArray | null;
  if ((m = /^severity\s*>=\s*([A-Z]+)$/.exec(c))) return SEVERITIES.indexOf(entry.severity) >= SEVERITIES.indexOf(m[1]!);
  if ((m = /^([\w.]+)=\((".*")\)$/.exec(c))) {
    const options = m[2]!.split(/\s+OR\s+/).map((s) => JSON.parse(s) as string);
    return options.includes(String(valueAt(entry, m[1]!)));
  }
  if ((m = /^([\w.]+)=("(?:[^"\\]|\\.)*")$/.exec(c))) return valueAt(entry, m[1]!) === JSON.parse(m[2]!);
  if ((m = /^([\w.]+):\*$/.exec(c))) return valueAt(entry, m[1]!) !== undefined;
  if ((m = /^([\w.]+)\s*(>=|<=|>|<|=)\s*(-?\d+(?:\.\d+)?)$/.exec(c))) {
    const v = valueAt(entry, m[1]!);
    if (typeof v !== 'number') return false;
    const n = Number(m[3]);
    return m[2] === '>' ? v > n : m[2] === '>=' ? v >= n : m[2] === '<' ? v < n : m[2] === '<=' ? v <= n : v === n;
  }
  throw new Error(`cloud-logging-filter: clause outside the supported subset: ${c}`);
}

export function matchesFilter(filter: string, entry: LogEntry): boolean {
  return filter.split(/\s+AND\s+/).every((c) => clause(entry, c.trim()));
}

/** `EXTRACT(jsonPayload.X)` → the value at that path. */
export function extract(extractor: string, entry: LogEntry): unknown {
  const m = /^EXTRACT\(([\w.]+)\)$/.exec(extractor);
  if (!m) throw new Error(`cloud-logging-filter: unsupported extractor ${extractor}`);
  return valueAt(entry, m[1]!);
}

/** The log entry Cloud Run makes of one stdout line of a service (JSON → jsonPayload, its `severity` kept). */
export function cloudRunEntry(service: string, line: string): LogEntry | null {
  let payload: unknown;
  try {
    payload = JSON.parse(line);
  } catch {
    return null; // a text line becomes textPayload, which no log-based metric of the stack reads
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return null;
  const p = payload as Record<string, unknown>;
  return { resource: { type: 'cloud_run_revision', labels: { service_name: service } }, severity: typeof p['severity'] === 'string' ? p['severity'] : 'DEFAULT', jsonPayload: p };
}
