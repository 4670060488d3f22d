/**
 * Bundling shim for Lambda: `zod` is aliased to this file (HandlerFunction's esbuild `--alias:zod=`), so a
 * handler bundle carries zod's classic API without its ~260 KB of error-message locales (English stays: zod
 * registers it from its schemas module). `import { z } from 'zod'` materializes the whole namespace, which
 * defeats tree-shaking; this namespace simply has no `locales` member. Paths are relative on purpose: an
 * alias for `zod` would also rewrite `zod/...` sub-paths.
 */
import * as z from './zod-slim-api';
export * from './zod-slim-api';
export { z, z as default };
