/** The part of opossum 9's API the breaker benchmark uses (the package ships no types; @types/opossum is not installed). */
declare module 'opossum' {
  interface Options {
    timeout?: number | false;
    errorThresholdPercentage?: number;
    rollingCountTimeout?: number;
    resetTimeout?: number;
  }
  class CircuitBreaker<A extends unknown[] = unknown[], R = unknown> {
    constructor(action: (...args: A) => Promise<R>, options?: Options);
    fire(...args: A): Promise<R>;
    shutdown(): void;
  }
  export = CircuitBreaker;
}
