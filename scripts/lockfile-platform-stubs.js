#!/usr/bin/env node
'use strict';
// The npm registry mirror this project installs from carries only the linux-x64/arm64 builds of
// unrs-resolver's native bindings (a jest 30 dependency); the other platforms' packages answer 404, so
// `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lockfile
// ("Missing: @unrs/resolver-binding-… from lock file"). This records each missing optional platform package
// with its os/cpu, so `npm ci` sees the tree as complete and skips them on this platform (as it would anyway).
// Run it after any `npm install` that rewrites the lockfile: node scripts/lockfile-platform-stubs.js
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pkgs = lock.packages;
const CPUS = ['arm64', 'arm', 'x64', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x', 'wasm32'];
const OSES = ['android', 'darwin', 'freebsd', 'linux', 'openharmony', 'win32'];
let added = 0;
for (const [where, meta] of Object.entries(pkgs)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (pkgs[key] || pkgs[`${where}/${key}`]) continue;
    const parts = dep.split('/').pop().split('-');
    const os = OSES.find((o) => parts.includes(o));
    const cpu = CPUS.find((c) => parts.includes(c));
    if (!os || !cpu) throw new Error(`cannot tell the platform of optional dependency ${dep}; add it by hand`);
    const entry = { version, cpu: [cpu], os: [os], optional: true };
    if (meta.dev) entry.dev = true;
    if (parts.includes('gnu') || parts.includes('gnueabihf')) entry.libc = ['glibc'];
    if (parts.includes('musl') || parts.includes('musleabihf')) entry.libc = ['musl'];
    pkgs[key] = entry;
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
process.stdout.write(`lockfile: recorded ${added} optional platform package(s)\n`);
