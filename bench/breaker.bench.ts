/**
 * Circuit breaker overhead per call in the CLOSED state, against a bare call of the same async function,
 * opossum 9 and cockatiel 3, all measured in this run. Rounds are interleaved (every variant once per round)
 * and the median round is kept, so a noisy moment hits every variant alike.
 * Targets: ≤ 0.5 µs added per call; at least 2× faster than opossum.
 */
import CircuitBreakerOpossum from 'opossum';
import { ConsecutiveBreaker, TimeoutStrategy, circuitBreaker as cockatielBreaker, handleAll, timeout as cockatielTimeout, wrap } from 'cockatiel';
import { CircuitBreaker } from '../lib/core/search/breaker/circuit-breaker';

const CALLS = Number(process.env['BENCH_BREAKER_CALLS'] ?? 100_000);
const ROUNDS = Number(process.env['BENCH_BREAKER_ROUNDS'] ?? 9);

type Variant = { name: string; call: (i: number) => Promise<unknown> };

const target = async (x: number): Promise<number> => x + 1;

async function timeLoop(call: (i: number) => Promise<unknown>, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await call(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  // Same breaking rules everywhere where the library allows: opossum's defaults are 10 s timeout and 50% over
  // a 10 s window; ours adds 5-in-a-row; cockatiel has one strategy per breaker (consecutive here).
  const ours = new CircuitBreaker({ name: 'bench' });
  const oursNoTimeout = new CircuitBreaker({ name: 'bench-nt', timeoutMs: false });
  const opossum = new CircuitBreakerOpossum(target, { timeout: 10_000, errorThresholdPercentage: 50, rollingCountTimeout: 10_000 });
  const opossumNoTimeout = new CircuitBreakerOpossum(target, { timeout: false });
  const cockatiel = cockatielBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) });
  const cockatielWithTimeout = wrap(cockatielTimeout(10_000, TimeoutStrategy.Cooperative), cockatiel);

  const variants: Variant[] = [
    { name: 'bare call (baseline)', call: (i) => target(i) },
    { name: 'ours: execute, 10 s timeout + window + consecutive', call: (i) => ours.execute(() => target(i)) },
    { name: 'ours: execute, no timeout', call: (i) => oursNoTimeout.execute(() => target(i)) },
    { name: 'opossum: fire, 10 s timeout, 50%/10 s', call: (i) => opossum.fire(i) },
    { name: 'opossum: fire, no timeout', call: (i) => opossumNoTimeout.fire(i) },
    { name: 'cockatiel: breaker, no timeout', call: (i) => cockatiel.execute(() => target(i)) },
    { name: 'cockatiel: timeout(10 s) + breaker', call: (i) => cockatielWithTimeout.execute(() => target(i)) },
  ];

  // Warm-up: let the JIT settle every path.
  for (const v of variants) await timeLoop(v.call, 20_000);
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++) for (const v of variants) samples.get(v.name)!.push(await timeLoop(v.call, CALLS));

  const perCall = new Map([...samples].map(([k, xs]) => [k, median(xs)]));
  const bare = perCall.get(variants[0]!.name)!;
  const overhead = (name: string) => Math.max(0, perCall.get(name)! - bare);

  process.stdout.write(`${CALLS.toLocaleString()} sequential awaited calls × ${ROUNDS} interleaved rounds (median round), Node ${process.version}\n\n`);
  process.stdout.write(`${'variant'.padEnd(54)} ${'ns/call'.padStart(8)} ${'added ns'.padStart(9)}\n`);
  for (const v of variants) process.stdout.write(`${v.name.padEnd(54)} ${perCall.get(v.name)!.toFixed(0).padStart(8)} ${v === variants[0] ? '       —' : overhead(v.name).toFixed(0).padStart(9)}\n`);

  const oursFull = overhead(variants[1]!.name);
  const oursPlain = overhead(variants[2]!.name);
  const vsOpossum = overhead(variants[3]!.name) / Math.max(oursFull, 1);
  const vsOpossumPlain = overhead(variants[4]!.name) / Math.max(oursPlain, 1);
  const vsCockatiel = overhead(variants[6]!.name) / Math.max(oursFull, 1);
  const vsCockatielPlain = overhead(variants[5]!.name) / Math.max(oursPlain, 1);
  process.stdout.write(
    `\nadded per call, ours with timeout: ${(oursFull / 1000).toFixed(3)} µs (target ≤ 0.5 µs: ${oursFull <= 500 ? 'met' : 'NOT met'})\n` +
      `opossum overhead ÷ ours: ${vsOpossum.toFixed(1)}× with timeouts, ${vsOpossumPlain.toFixed(1)}× without (target ≥ 2×: ${vsOpossum >= 2 ? 'met' : 'NOT met'})\n` +
      `cockatiel overhead ÷ ours: ${vsCockatiel.toFixed(1)}× with timeouts, ${vsCockatielPlain.toFixed(1)}× without\n`,
  );
  opossum.shutdown();
  opossumNoTimeout.shutdown();
}
