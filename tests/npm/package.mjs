// Loads the *built* package (scripts/build-npm.sh → <Cargo's target dir>/npm/runmesh, or
// RUNMESH_NPM_PKG)
// through its Node entry, as `import 'runmesh'` would in Node.
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Cargo's target directory: CARGO_TARGET_DIR (relative to the checkout) or target/.
const target = resolve(root, process.env.CARGO_TARGET_DIR || 'target');
export const pkgDir = process.env.RUNMESH_NPM_PKG ?? join(target, 'npm', 'runmesh');

const manifest = join(pkgDir, 'package.json');
if (!existsSync(manifest)) {
  throw new Error(`${pkgDir} has no package.json: run scripts/build-npm.sh first`);
}
const entry = JSON.parse(readFileSync(manifest, 'utf8')).exports['.'].node;
export const runmesh = await import(pathToFileURL(join(pkgDir, entry)).href);
