#!/usr/bin/env node
'use strict';
// pretest: make sure the real servers the tests use are installed. Installs missing Debian packages when
// it can (root + apt-get), otherwise stops with the exact command to run. Tests never skip silently.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const needs = [
  { pkg: 'redis-server', present: () => ok('redis-server', ['--version']) },
  { pkg: 'chromium', present: () => fs.existsSync('/usr/bin/chromium') },
  { pkg: 'postgresql', present: () => findPgBin('initdb') !== null },
  // promtool (from Debian's prometheus package) parses and unit-tests the exported rule file
  { pkg: 'prometheus', present: () => ok('promtool', ['--version']) },
  // unzip opens the GCP function sources from cdktf.out in the runtime matrix test
  { pkg: 'unzip', present: () => ok('unzip', ['-v']) },
  // the run / watch profiles are tested on real tool output (test/cli/run-tools.test.ts)
  { pkg: 'pgloader', present: () => ok('pgloader', ['--version']) },
  { pkg: 'rsync', present: () => ok('rsync', ['--version']) },
  { pkg: 'rclone', present: () => ok('rclone', ['version']) },
  // aws s3 sync into s3rver (run-tools); these machines carry AWS CLI v1 from pip, apt's awscli is the fallback
  { pkg: 'awscli', present: () => ok('aws', ['--version']) },
];

function ok(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function findPgBin(name) {
  const base = '/usr/lib/postgresql';
  if (!fs.existsSync(base)) return null;
  for (const v of fs.readdirSync(base).sort().reverse()) {
    const p = `${base}/${v}/bin/${name}`;
    if (fs.existsSync(p)) return p;
  }
  return null;
}

// cfn-lint (pip, not apt) lints every synthesized CloudFormation variant (test/stacks/aws-cfn-lint.test.ts).
if (!ok('cfn-lint', ['--version'])) {
  process.stderr.write('\nThe tests need cfn-lint (AWS CloudFormation linter), which is not installed. Run:\n\n  pip install cfn-lint\n\n(or `pipx install cfn-lint`), then run npm test again.\n');
  process.exit(1);
}

// moto_server (pip, the AWS API emulator) serves SNS/SQS/SSM to the alert-routing and cutover tests.
if (!ok('moto_server', ['--help'])) {
  process.stderr.write('\nThe tests need moto_server (the AWS API emulator), which is not installed. Run:\n\n  pip install "moto[server]"\n\nthen run npm test again.\n');
  process.exit(1);
}

const missing = needs.filter((n) => !n.present()).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);

const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && ok('apt-get', ['--version'])) {
  process.stderr.write(`pretest: installing ${missing.join(', ')} (${cmd})\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const a = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  const b = a.status === 0 ? spawnSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env }) : a;
  if (b.status === 0 && needs.every((n) => n.present())) process.exit(0);
}
process.stderr.write(`\nThe tests need ${missing.join(', ')}, which are not installed. Run:\n\n  sudo ${cmd}\n\nthen run npm test again.\n`);
process.exit(1);
