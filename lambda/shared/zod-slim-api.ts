/** The members of zod's classic `z` namespace that handlers use (see zod-slim.ts). */
export * from '../../node_modules/zod/v4/classic/schemas.js';
export * from '../../node_modules/zod/v4/classic/checks.js';
export * from '../../node_modules/zod/v4/classic/errors.js';
export * from '../../node_modules/zod/v4/classic/parse.js';
export * from '../../node_modules/zod/v4/classic/compat.js';
export {
  globalRegistry,
  registry,
  config,
  regexes,
  treeifyError,
  prettifyError,
  formatError,
  flattenError,
  NEVER,
} from '../../node_modules/zod/v4/core/index.js';
export * as coerce from '../../node_modules/zod/v4/classic/coerce.js';
export * as iso from '../../node_modules/zod/v4/classic/iso.js';
export { ZodISODateTime, ZodISODate, ZodISOTime, ZodISODuration } from '../../node_modules/zod/v4/classic/iso.js';
