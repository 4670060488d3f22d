#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI through tsx's require hook, so `npm ci` is the only build step.
require('tsx/cjs');
require('../lib/cli/main.ts')
  .main(process.argv)
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  })
  .catch((e) => {
    process.stderr.write(`migration-monitor: ${e && e.message ? e.message : e}\n`);
    process.exitCode = process.exitCode || 1;
  });
