// scripts/wasm-imports.mjs on small modules written byte by byte: the renamed module
// compiles, imports what it did under the new names, and keeps every other byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameImports } from '../wasm-imports.mjs';

const text = (s) => [s.length, ...Buffer.from(s)];
const section = (id, body) => [id, body.length, ...body];

/** Imports two functions from `./app_bg.js`, a memory from `env` and a function from `env`; one custom section. */
function module() {
  const types = section(1, [1, 0x60, 0, 0]); // one type: () -> ()
  const imports = section(2, [
    4,
    ...text('./app_bg.js'), ...text('__wbg_first_0123456789abcdef'), 0, 0,
    ...text('env'), ...text('memory'), 2, 1, 1, 2, // memory, min 1, max 2
    ...text('./app_bg.js'), ...text('__wbg_second_fedcba9876543210'), 0, 0,
    ...text('env'), ...text('other'), 0, 0,
  ]);
  const custom = section(0, [...text('note'), 1, 2, 3]);
  return Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...imports, ...custom]);
}

test('renames the function imports of one module and nothing else', () => {
  const before = module();
  const { wasm, renames } = renameImports(before, './app_bg.js', (_, i) => `_${i}`);
  assert.deepEqual(renames, [
    ['__wbg_first_0123456789abcdef', '_0'],
    ['__wbg_second_fedcba9876543210', '_1'],
  ]);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm));
  assert.deepEqual(imports, [
    { module: './app_bg.js', name: '_0', kind: 'function' },
    { module: 'env', name: 'memory', kind: 'memory' },
    { module: './app_bg.js', name: '_1', kind: 'function' },
    { module: 'env', name: 'other', kind: 'function' },
  ]);
  assert.deepEqual(WebAssembly.Module.customSections(new WebAssembly.Module(wasm), 'note').map((b) => [...new Uint8Array(b)]), [[1, 2, 3]]);
  const saved = renames.reduce((sum, [old, renamed]) => sum + old.length - renamed.length, 0);
  assert.equal(wasm.length, before.length - saved);
});

test('refuses what is not a wasm module, or an import section that runs short', () => {
  assert.throws(() => renameImports(Buffer.from('not wasm'), 'm', (n) => n), /not a wasm module/);
  const cut = module();
  cut[cut.indexOf(2, 12) + 1] += 5; // the import section claims five more bytes than it has
  assert.throws(() => renameImports(cut, './app_bg.js', (n) => n), /longer than its imports|runs past the end/);
});
