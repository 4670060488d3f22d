/**
 * Per-environment settings live in lib/config/environments.ts: nothing under lib/ imports a stack, and the
 * GCP stack does not import the AWS stack's config (both read the neutral module).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const files = (dir: string): string[] =>
  fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
const importsOf = (file: string) => [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/(?:from|import|require\()\s*['"]([^'"]+)['"]/g)].map((m) => path.normalize(path.join(path.dirname(file), m[1])));

describe('layering of the environment settings', () => {
  it('no lib/ file imports from stacks/', () => {
    const bad = files('lib').flatMap((f) => importsOf(f).filter((i) => i.startsWith('stacks/')).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });

  it('the GCP stack does not import the AWS stack (its config or anything else)', () => {
    const bad = files('stacks/gcp').flatMap((f) => importsOf(f).filter((i) => i.startsWith('stacks/aws')).map((i) => `${f} → ${i}`));
    expect(bad).toEqual([]);
  });

  it('both stacks and the CLI read the neutral module', () => {
    for (const f of ['stacks/aws/config.ts', 'stacks/gcp/config.ts', 'lib/cli/commands/export.ts']) expect(importsOf(f)).toContain('lib/config/environments');
  });
});
