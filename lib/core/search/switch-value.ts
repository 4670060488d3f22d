import * as z from '../zod';
import { switchPositionSchema, type SwitchPosition } from './breaker/ports';
import { formatZodError } from '../validation-util';
import { proxyStageSchema, type ProxyStage } from './writes';

/**
 * The operator switch's value, wherever it is kept (an SSM parameter on AWS, a Redis key on GCP): one
 * position for every breaker (`auto`, `open`, `closed`), or a JSON object of positions by breaker name with
 * `*` as the default, plus the migration stage under `mode`:
 * `{"mode": "dual-write", "search-primary": "open", "*": "auto"}`. One value, so one write moves the
 * stage (reads and writes together) atomically.
 */
export const switchValueSchema = z.union([switchPositionSchema, z.catchall(z.object({ mode: z.optional(proxyStageSchema) }), switchPositionSchema)]);
export type SwitchValue = z.infer<typeof switchValueSchema>;

export function parseSwitchValue(raw: string, name: string): SwitchValue {
  const text = raw.trim();
  let candidate: unknown = text;
  if (text.startsWith('{')) {
    try {
      candidate = JSON.parse(text);
    } catch (e) {
      throw new Error(`${name} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const r = switchValueSchema.safeParse(candidate);
  if (!r.success) throw new Error(`${name} must be auto, open, closed or a JSON object of those by breaker name (with "mode": a stage): ${formatZodError(r.error)}`);
  return r.data;
}

export function positionIn(v: SwitchValue, breaker: string): SwitchPosition {
  if (typeof v === 'string') return v;
  const o = v as Record<string, string | undefined>;
  return ((breaker !== 'mode' ? o[breaker] : undefined) ?? o['*'] ?? 'auto') as SwitchPosition;
}

export function stageIn(v: SwitchValue): ProxyStage | null {
  return typeof v === 'string' ? null : (v.mode ?? null);
}

/** The value with its stage set, breaker positions kept (a single position becomes the `*` default). */
export function withStage(v: SwitchValue | null, stage: ProxyStage): string {
  const base: Record<string, string> = v === null ? {} : typeof v === 'string' ? (v === 'auto' ? {} : { '*': v }) : { ...(v as Record<string, string>) };
  return JSON.stringify({ ...base, mode: stage });
}
