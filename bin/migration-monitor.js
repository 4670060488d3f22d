#!/usr/bin/env node
'use strict';
// Installed package: the compiled CLI in dist/. Source checkout: the TypeScript through tsx (no build step
// needed for development and tests); MIGRATION_MONITOR_COMPILED=1 runs the compiled one there too (npm run build).
const fs = require('node:fs');
const path = require('node:path');
const compiled = path.join(__dirname, '../dist/lib/cli/main.js');
const source = path.join(__dirname, '../lib/cli/main.ts');
const useSource = fs.existsSync(source) && process.env.MIGRATION_MONITOR_COMPILED !== '1';
if (useSource) require('tsx/cjs');
require(useSource ? source : compiled)
  .main(process.argv)
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  })
  .catch((e) => {
    process.stderr.write(`migration-monitor: ${e && e.message ? e.message : e}\n`);
    process.exitCode = process.exitCode || 1;
  });
