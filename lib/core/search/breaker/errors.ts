/**
 * What the breaker throws, and how it reads an error it is given. The breaker's own errors carry a `code`
 * so callers (the proxy, a Lambda) can tell a refusal and a timeout from a backend's error.
 */

/** Why a call was refused without reaching the function. */
export type RejectReason = 'open' | 'half_open_busy' | 'operator';

/** Thrown (or passed to the fallback) when the breaker refuses a call. The function was not called. */
export class BreakerOpenError extends Error {
  readonly code = 'breaker_open';
  constructor(
    readonly breaker: string,
    readonly reason: RejectReason,
    /** When a probe will be allowed, or null when an operator holds the breaker open or probe slots are taken. */
    readonly retryAfterMs: number | null,
  ) {
    super(
      reason === 'operator'
        ? `circuit breaker "${breaker}" is held open by the operator switch`
        : reason === 'half_open_busy'
          ? `circuit breaker "${breaker}" is half-open and its probe slots are taken`
          : `circuit breaker "${breaker}" is open`,
    );
    this.name = 'BreakerOpenError';
  }
}

/** The call ran past its timeout; its signal was aborted with this error as the reason. */
export class BreakerTimeoutError extends Error {
  readonly code = 'breaker_timeout';
  constructor(
    readonly breaker: string,
    readonly timeoutMs: number,
  ) {
    super(`call through circuit breaker "${breaker}" timed out after ${timeoutMs} ms`);
    this.name = 'BreakerTimeoutError';
  }
}

/** HTTP status carried by an error (`status`, `statusCode`, or the AWS SDK's `$metadata.httpStatusCode`). */
export function errorStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { status?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const s = o.status ?? o.statusCode ?? o.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The default failure predicate: everything is a failure except a 4xx other than 408 (timeout) and 429 (overloaded). */
export function defaultIsFailure(e: unknown): boolean {
  const s = errorStatus(e);
  return !(s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 429);
}
