import type { CompiledPattern } from './config';
import { jsonDepthExceeds } from '../http';
import { LIMITS } from '../model';

export type FieldValue = string | number | boolean | null;

/** One log line, read: its format, the text patterns match against, and its structured fields. */
export interface ParsedLine {
  format: 'json' | 'text';
  /** JSON: the message field (or '' when there is none); text: the whole line. */
  message: string;
  /** The raw line (without the line break). */
  raw: string;
  /** JSON fields flattened with dot paths (`labels.tenant`), or `key=value` pairs of a text line. */
  fields: Record<string, FieldValue>;
}

export type ParseResult = { kind: 'line'; line: ParsedLine } | { kind: 'empty' } | { kind: 'malformed'; reason: string };

export interface ParseOptions {
  maxLineBytes: number;
  messageFields: string[];
}

const KV = /(?:^|[\s,;])([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;]+)/g;
// eslint-disable-next-line no-control-regex
const BINARY = /[\u0000-\u0008\u000e-\u001f]/;

/**
 * Read one line. A line starting with `{` must be a JSON object (otherwise it is malformed); any other
 * line is plain text whose `key=value` pairs (and a trailing JSON object, as many loggers append) become
 * fields. Over-long lines and lines with binary control characters are malformed.
 */
export function parseLine(input: string, opts: ParseOptions): ParseResult {
  const raw = input.endsWith('\r') ? input.slice(0, -1) : input;
  if (Buffer.byteLength(raw) > opts.maxLineBytes) return { kind: 'malformed', reason: `line longer than ${opts.maxLineBytes} bytes` };
  const trimmed = raw.trim();
  if (!trimmed) return { kind: 'empty' };
  if (BINARY.test(trimmed)) return { kind: 'malformed', reason: 'binary control characters in line' };
  if (trimmed.startsWith('{')) {
    // flatten() re-serializes what lies past 5 levels: a hostile depth would overflow the stack there
    if (jsonDepthExceeds(trimmed, LIMITS.maxJsonDepth)) return { kind: 'malformed', reason: `JSON nested deeper than ${LIMITS.maxJsonDepth} levels` };
    let v: unknown;
    try {
      v = JSON.parse(trimmed);
    } catch (e) {
      return { kind: 'malformed', reason: `invalid JSON: ${(e as Error).message}` };
    }
    if (!isRecord(v)) return { kind: 'malformed', reason: 'JSON line is not an object' };
    const fields = flatten(v);
    const msgField = opts.messageFields.find((f) => typeof fields[f] === 'string');
    return { kind: 'line', line: { format: 'json', message: msgField ? String(fields[msgField]) : '', raw, fields } };
  }
  const fields: Record<string, FieldValue> = {};
  const brace = trimmed.indexOf('{');
  if (brace > 0 && trimmed.endsWith('}') && !jsonDepthExceeds(trimmed.slice(brace), LIMITS.maxJsonDepth)) {
    try {
      const tail: unknown = JSON.parse(trimmed.slice(brace));
      if (isRecord(tail)) Object.assign(fields, flatten(tail));
    } catch {
      // Not JSON after all (e.g. a `{placeholder}` in the text): the key=value pairs still count.
    }
  }
  for (const m of trimmed.matchAll(KV)) {
    const key = m[1]!;
    if (key in fields) continue;
    fields[key] = unquote(m[2]!);
  }
  return { kind: 'line', line: { format: 'text', message: trimmed, raw, fields } };
}

export interface PatternMatch {
  pattern: CompiledPattern;
  /** The line's fields plus the pattern's named regex groups. */
  fields: Record<string, FieldValue>;
}

/** The first pattern the line matches: its regex (against the message) and every field matcher. */
export function matchPatterns(patterns: CompiledPattern[], line: ParsedLine): PatternMatch | null {
  for (const p of patterns) {
    let fields = line.fields;
    if (p.regex) {
      p.regex.lastIndex = 0;
      const m = p.regex.exec(line.message);
      if (!m) continue;
      if (m.groups) {
        fields = { ...fields };
        for (const [k, v] of Object.entries(m.groups)) if (v !== undefined) fields[k] = v;
      }
    }
    if (p.fields.every((f) => f.test(f.name === 'message' && !(f.name in fields) ? line.message : fields[f.name]))) return { pattern: p, fields };
  }
  return null;
}

function flatten(o: Record<string, unknown>, prefix = '', out: Record<string, FieldValue> = {}, depth = 0): Record<string, FieldValue> {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else if (isRecord(v) && depth < 5) flatten(v, key, out, depth + 1);
    else if (v !== undefined) out[key] = JSON.stringify(v);
  }
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v.slice(1, -1);
    }
  }
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  return v;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
