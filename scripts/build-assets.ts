/**
 * `npm run build` step 2: bundle every handler the constructs deploy into dist/assets, with exactly the
 * esbuild options and defines the constructs would use at synth time, and write dist/assets/manifest.json.
 * The compiled constructs (dist/lib) then deploy these files (lib/constructs/prebuilt.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { BUNDLING, esbuildOptions } from '../lib/constructs/aws/handler-function';
import { reportBundleDefine } from '../lib/constructs/aws/report-function';
import { SEARCH_PROXY_BUNDLE_DEFINE } from '../lib/constructs/aws/search-proxy';
import { TRACKER_API_BUNDLE_DEFINE } from '../lib/constructs/aws/tracker-api';
import { validationBundleDefine } from '../lib/constructs/aws/validation-function';
import { bundleHandler } from '../lib/constructs/gcp/bundle';
import type { AssetManifest } from '../lib/constructs/prebuilt';
import type { ConnectorType } from '../lib/core/validation/config';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'dist/assets');

const AWS: Array<{ name: string; entry: string; define: Record<string, string> }> = [
  { name: 'tracker-api', entry: 'lambda/tracker-api.ts', define: TRACKER_API_BUNDLE_DEFINE },
  { name: 'slack-notifier', entry: 'lambda/slack-notifier.ts', define: {} },
  { name: 'log-ingest', entry: 'lambda/log-ingest.ts', define: {} },
  { name: 'search-proxy', entry: 'lambda/search-proxy.ts', define: SEARCH_PROXY_BUNDLE_DEFINE },
  { name: 'report', entry: 'lambda/report.ts', define: reportBundleDefine(false) },
  { name: 'report-smtp', entry: 'lambda/report.ts', define: reportBundleDefine(true) },
  // the driver defines depend only on postgres and redis being listed: every combination
  ...([[], ['postgres'], ['redis'], ['postgres', 'redis']] as ConnectorType[][]).map((c) => ({
    name: `validate${c.length ? `-${c.join('-')}` : ''}`,
    entry: 'lambda/validate.ts',
    define: validationBundleDefine([...c, 'file']),
  })),
];

/** The Cloud Run shells, as stacks/gcp/config.ts deploys them (export `handler`, http adapter, named by purpose). */
const GCP = [
  { name: 'report', entry: 'cloud-run/report.ts' },
  { name: 'validate', entry: 'cloud-run/validate.ts' },
  { name: 'search-proxy', entry: 'cloud-run/search-proxy.ts' },
  { name: 'log-ingest', entry: 'cloud-run/log-ingest.ts' },
];

function main() {
  fs.rmSync(OUT, { recursive: true, force: true });
  const manifest: AssetManifest = { aws: [], gcp: [] };
  for (const a of AWS) {
    const define = { ...BUNDLING.define, ...a.define };
    const dir = `aws/${a.name}`;
    buildSync({ ...esbuildOptions(path.join(ROOT, a.entry), path.join(OUT, dir, 'index.js'), define), legalComments: 'none' });
    manifest.aws.push({ entry: a.entry, define, dir });
  }
  for (const g of GCP) {
    const dir = `gcp/${g.name}`;
    bundleHandler({ entry: path.join(ROOT, g.entry), exportName: 'handler', adapter: 'http', name: g.name, outDir: path.join(OUT, dir) });
    manifest.gcp.push({ entry: g.entry, exportName: 'handler', adapter: 'http', name: g.name, dir });
  }
  fs.writeFileSync(path.join(OUT, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const size = (d: string): number => fs.readdirSync(d, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? size(path.join(d, e.name)) : fs.statSync(path.join(d, e.name)).size), 0);
  process.stdout.write(`dist/assets: ${manifest.aws.length} Lambda and ${manifest.gcp.length} Cloud Run bundles, ${(size(OUT) / 1024 / 1024).toFixed(1)} MB\n`);
}

main();
