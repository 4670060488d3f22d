import type Redis from 'ioredis';
import type { OperatorSwitch, SwitchPosition } from '../../core/search/breaker/ports';
import { parseSwitchValue, positionIn, stageIn, withStage, type SwitchValue } from '../../core/search/switch-value';
import type { ProxyStage, StageSwitch } from '../../core/search/writes';

/**
 * The operator switch in a Redis key (GCP: the Memorystore instance the breakers already share state in;
 * the AWS equivalent is the SSM parameter). Same value as the parameter: a position, or a JSON object of
 * positions by breaker name with `*` and the stage under `mode`. Cached for `ttlMs`; a missing key means
 * `auto` and no stage; an unreadable or invalid one throws (the breaker keeps its position, the proxy its stage).
 */
export class RedisOperatorSwitch implements OperatorSwitch, StageSwitch {
  readonly kind = 'redis';
  private cached: { at: number; value: SwitchValue } | null = null;
  private inFlight: Promise<SwitchValue> | null = null;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly ttlMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  async position(breakerName: string): Promise<SwitchPosition> {
    return positionIn(await this.value(), breakerName);
  }

  async stage(): Promise<ProxyStage | null> {
    return stageIn(await this.value());
  }

  private value(): Promise<SwitchValue> {
    if (this.cached && this.now() - this.cached.at < this.ttlMs) return Promise.resolve(this.cached.value);
    this.inFlight ??= readRedisSwitch(this.redis, this.key)
      .then((v) => {
        const value = v ?? 'auto';
        this.cached = { at: this.now(), value };
        return value;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}

export async function readRedisSwitch(redis: Redis, key: string): Promise<SwitchValue | null> {
  const raw = await redis.get(key);
  return raw === null ? null : parseSwitchValue(raw, `Redis key ${key}`);
}

/** Move the stage in the switch key (cutover, rollback), keeping the breaker positions; WATCH makes it a compare-and-set. */
export async function setRedisStage(redis: Redis, key: string, stage: ProxyStage): Promise<{ from: ProxyStage | null; to: ProxyStage }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await redis.watch(key);
    const current = await readRedisSwitch(redis, key);
    const done = await redis.multi().set(key, withStage(current, stage)).exec();
    if (done) return { from: current === null ? null : stageIn(current), to: stage };
  }
  throw new Error(`Redis key ${key} kept changing while the stage was being set; try again`);
}
