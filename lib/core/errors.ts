/**
 * Domain errors carry the HTTP status they map to, so every entrypoint (local server, Lambda, Cloud Run,
 * CLI) answers a client mistake with the same 4xx and message. Anything that is not a DomainError is a
 * server fault (5xx).
 */
export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'dependency_blocked'
  | 'illegal_transition'
  | 'paused'
  | 'idempotency_mismatch'
  | 'payload_too_large'
  | 'json_too_deep'
  | 'unsupported_media_type'
  | 'misdirected_request'
  | 'invalid_plan'
  | 'store_contention';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  invalid_plan: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  dependency_blocked: 409,
  illegal_transition: 409,
  paused: 409,
  idempotency_mismatch: 422,
  payload_too_large: 413,
  json_too_deep: 400,
  unsupported_media_type: 415,
  misdirected_request: 421,
  store_contention: 503,
};

export class DomainError extends Error {
  readonly status: number;
  /** True when this is the stored first answer to an Idempotency-Key, replayed (answered with `idempotent-replayed: true`). */
  replayed = false;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
    this.status = STATUS[code];
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
