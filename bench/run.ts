/**
 * `npm run bench [-- name...]`: runs every bench/*.bench.ts (or the named ones) one after another.
 * Each prints its own figures as ratios against a baseline measured in the same run.
 */
import fs from 'node:fs';
import path from 'node:path';

async function main() {
  const only = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !only.length || only.some((o) => f.startsWith(o)))
    .sort();
  if (!files.length) throw new Error(`no benchmark matches ${only.join(', ')}`);
  let failed = 0;
  for (const f of files) {
    process.stdout.write(`\n=== ${f} ===\n`);
    const t0 = Date.now();
    try {
      const mod = (await import(path.join(__dirname, f))) as { run(): Promise<void> };
      await mod.run();
    } catch (e) {
      failed++;
      process.stdout.write(`FAILED: ${(e as Error).stack ?? String(e)}\n`);
    }
    process.stdout.write(`(${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  if (failed) process.exitCode = 1;
}

void main();
