import { GetParameterCommand, ParameterNotFound, SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import type { OperatorSwitch, SwitchPosition } from '../../core/search/breaker/ports';
import type { Clock } from '../../core/clock';
import { parseSwitchValue, positionIn, stageIn, type SwitchValue } from '../../core/search/switch-value';
import type { ProxyStage, StageSwitch } from '../../core/search/writes';

export interface SsmSwitchOptions {
  /** e.g. `/migration-monitor/prod/search-proxy/breaker-switch`. */
  parameterName: string;
  client?: SSMClient;
  clientConfig?: SSMClientConfig;
  /** How long a read is reused. Default 5000 ms. */
  ttlMs?: number;
  clock?: Clock;
}

export { switchValueSchema } from '../../core/search/switch-value';

/**
 * Operator switch in SSM Parameter Store, cached for `ttlMs` (one GetParameter per TTL however many breakers
 * and calls ask). A missing parameter means no override (`auto`); an unreadable or invalid one throws, and the
 * breaker keeps its last position and reports a sync error.
 */
export class SsmOperatorSwitch implements OperatorSwitch, StageSwitch {
  readonly kind = 'ssm';
  private readonly client: SSMClient;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private cached: { at: number; value: SwitchValue } | null = null;
  private inFlight: Promise<SwitchValue> | null = null;

  constructor(private readonly opts: SsmSwitchOptions) {
    this.client = opts.client ?? new SSMClient(opts.clientConfig ?? {});
    this.ttlMs = opts.ttlMs ?? 5000;
    this.now = opts.clock ? () => opts.clock!.now() : () => Date.now();
  }

  async position(breakerName: string): Promise<SwitchPosition> {
    return positionIn(await this.value(), breakerName);
  }

  /** The migration stage held under `mode`, or null (the deployment's settings decide). */
  async stage(): Promise<ProxyStage | null> {
    return stageIn(await this.value());
  }

  private async value(): Promise<SwitchValue> {
    if (this.cached && this.now() - this.cached.at < this.ttlMs) return this.cached.value;
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async read(): Promise<SwitchValue> {
    let raw: string | undefined;
    try {
      const r = await this.client.send(new GetParameterCommand({ Name: this.opts.parameterName, WithDecryption: true }));
      raw = r.Parameter?.Value;
    } catch (e) {
      if (!(e instanceof ParameterNotFound)) throw e;
    }
    const value = raw === undefined ? 'auto' : parseSwitchValue(raw, `parameter ${this.opts.parameterName}`);
    this.cached = { at: this.now(), value };
    return value;
  }
}
