import { GetParameterCommand, ParameterNotFound, SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { switchPositionSchema, type OperatorSwitch, type SwitchPosition } from '../../core/search/breaker/ports';
import type { Clock } from '../../core/clock';
import { formatZodError } from '../../core/validation-util';

export interface SsmSwitchOptions {
  /** e.g. `/migration-monitor/prod/search-proxy/breaker-switch`. */
  parameterName: string;
  client?: SSMClient;
  clientConfig?: SSMClientConfig;
  /** How long a read is reused. Default 5000 ms. */
  ttlMs?: number;
  clock?: Clock;
}

/**
 * The parameter holds either one position for every breaker (`auto`, `open`, `closed`) or a JSON object by
 * breaker name, with `*` as the default: `{"search-primary": "open", "*": "auto"}`.
 */
export const switchValueSchema = z.union([switchPositionSchema, z.record(z.string(), switchPositionSchema)]);

/**
 * Operator switch in SSM Parameter Store, cached for `ttlMs` (one GetParameter per TTL however many breakers
 * and calls ask). A missing parameter means no override (`auto`); an unreadable or invalid one throws, and the
 * breaker keeps its last position and reports a sync error.
 */
export class SsmOperatorSwitch implements OperatorSwitch {
  readonly kind = 'ssm';
  private readonly client: SSMClient;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private cached: { at: number; value: z.infer<typeof switchValueSchema> } | null = null;
  private inFlight: Promise<z.infer<typeof switchValueSchema>> | null = null;

  constructor(private readonly opts: SsmSwitchOptions) {
    this.client = opts.client ?? new SSMClient(opts.clientConfig ?? {});
    this.ttlMs = opts.ttlMs ?? 5000;
    this.now = opts.clock ? () => opts.clock!.now() : () => Date.now();
  }

  async position(breakerName: string): Promise<SwitchPosition> {
    const v = await this.value();
    return typeof v === 'string' ? v : (v[breakerName] ?? v['*'] ?? 'auto');
  }

  private async value(): Promise<z.infer<typeof switchValueSchema>> {
    if (this.cached && this.now() - this.cached.at < this.ttlMs) return this.cached.value;
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async read(): Promise<z.infer<typeof switchValueSchema>> {
    let raw: string | undefined;
    try {
      const r = await this.client.send(new GetParameterCommand({ Name: this.opts.parameterName, WithDecryption: true }));
      raw = r.Parameter?.Value;
    } catch (e) {
      if (!(e instanceof ParameterNotFound)) throw e;
    }
    const value = raw === undefined ? 'auto' : parseSwitch(raw, this.opts.parameterName);
    this.cached = { at: this.now(), value };
    return value;
  }
}

function parseSwitch(raw: string, name: string): z.infer<typeof switchValueSchema> {
  const text = raw.trim();
  let candidate: unknown = text;
  if (text.startsWith('{')) {
    try {
      candidate = JSON.parse(text);
    } catch (e) {
      throw new Error(`parameter ${name} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const r = switchValueSchema.safeParse(candidate);
  if (!r.success) throw new Error(`parameter ${name} must be auto, open, closed or a JSON object of those by breaker name: ${formatZodError(r.error)}`);
  return r.data;
}
