#!/usr/bin/env node
'use strict';
// `npm run synth [-- --hcl]`: both clouds, offline. AWS → cdk.out/ (cdk synth), GCP → cdktf.out/ (JSON, or HCL
// with --hcl). Arguments are passed to the GCP synth (the only one that takes any).
const { spawnSync } = require('node:child_process');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args) => spawnSync(npm, args, { stdio: 'inherit' }).status ?? 1;
const aws = run(['run', 'synth:aws']);
if (aws !== 0) process.exit(aws);
process.exit(run(['run', 'synth:gcp', '--', ...process.argv.slice(2)]));
