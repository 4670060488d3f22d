/**
 * zod for every schema under lib/: its functional, tree-shakable API (`zod/mini`, a path in zod's exports map)
 * with zod's English messages switched on, as `zod` itself does on import. The Lambda bundles then carry ~30 KB
 * of zod instead of ~100 KB (bench/bundles.bench.ts). Import it as a namespace: `import * as z from '../core/zod'`
 * (test/architecture.test.ts); write `z.optional(s)`, `s.check(z.minLength(1))` instead of classic chains.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
