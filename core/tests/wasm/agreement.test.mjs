// Wasm half of the native/wasm agreement check: the core compiled to wasm must turn the
// committed fixture documents into exactly the JSON the native core gives (core/tests/agreement.rs).
// Run after scripts/build-npm.sh has built <target dir>/npm/runmesh (.ci/npm.sh does both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
// The wasm module of the built npm package (scripts/build-npm.sh), without its JS API.
const target = resolve(root, process.env.CARGO_TARGET_DIR || 'target');
const wasmDir = join(process.env.RUNMESH_NPM_PKG ?? join(target, 'npm', 'runmesh'), 'wasm');
const wasm = await import(pathToFileURL(join(wasmDir, 'runmesh_core.js')).href);
wasm.initSync({ module: readFileSync(join(wasmDir, 'runmesh_core_bg.wasm')) });
const { stateJson } = wasm;
const RUN = '123e4567-e89b-12d3-a456-426614174000';

for (const name of ['busy', 'foreign', 'stepless']) {
  test(`wasm materialises fixture ${name} to the native JSON`, () => {
    const bytes = readFileSync(join(here, '..', 'fixtures', `${name}.automerge`));
    const expected = readFileSync(join(here, '..', 'fixtures', `${name}.state.json`), 'utf8').trimEnd();
    assert.equal(stateJson(RUN, bytes), expected);
  });
}

test('wasm reports corrupt bytes as an Error that says so', () => {
  assert.throws(() => stateJson(RUN, new Uint8Array([1, 2, 3])), /refused document bytes/);
});

test('wasm reports a bad run id by name', () => {
  assert.throws(() => stateJson('nope', new Uint8Array()), /invalid run id "nope"/);
});
