// Trims the web app's wasm exports, in the wasm and in its JavaScript glue, then optimizes
// the wasm again so the code only they reached goes:
//
// - wasm-streams' `IntoUnderlying*` classes go. Leptos builds server functions' browser
//   client (server_fn's `browser` feature, which it always enables), whose wasm-streams
//   exports these classes to JavaScript; wasm-bindgen keeps every export, and the app calls
//   no server function, so nothing creates one.
// - The closure adapters wasm-bindgen names after their Rust types (up to 334 characters,
//   each in both files) are renamed `c0`, `c1`, ….
//
// Measured 2026-12-07, gzip -9: the wasm 2,350 B smaller (wasm-opt's second -Oz pass
// included), the glue 461 B.
//
//   node scripts/trim-exports.mjs dist
//
// Run before scripts/minify-glue.mjs, on the glue as wasm-bindgen wrote it
// (scripts/glue-exports.mjs edits it). Each name it renames must occur in the glue once, or
// nothing is written; the new wasm is compiled and checked to export everything the glue
// calls before it replaces the old.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { glueName, wasmName, withIntegrity } from './dist.mjs';
import { glueWithoutStreams, renameCalls } from './glue-exports.mjs';

const DROPPED = /^(__wbg_)?intounderlying/;
const ADAPTER = /^wasm_bindgen_[0-9a-f]+___convert__closures_/;
// The features rustc's wasm32 target enables; wasm-opt validates the module against them.
const FEATURES = [
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
  '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue',
];

function trimWasm(bytes) {
  const module = binaryen.readBinary(bytes);
  const exports = [];
  for (let i = 0; i < module.getNumExports(); i++) exports.push(binaryen.getExportInfo(module.getExportByIndex(i)));
  const dropped = exports.filter((e) => DROPPED.test(e.name));
  const renames = exports.filter((e) => ADAPTER.test(e.name)).map((e, i) => [e.name, `c${i}`, e.value]);
  for (const { name } of dropped) module.removeExport(name);
  for (const [old, name, internal] of renames) {
    module.removeExport(old);
    module.addFunctionExport(internal, name);
  }
  const trimmed = module.emitBinary();
  module.dispose();
  return { trimmed, dropped: dropped.map((e) => e.name), renames: renames.map(([old, name]) => [old, name]) };
}

function optimize(bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'trim-exports-'));
  try {
    const [input, output] = [join(dir, 'in.wasm'), join(dir, 'out.wasm')];
    writeFileSync(input, bytes);
    // The producers and target-features sections tell tools how the wasm was built; the
    // browser reads neither.
    // --low-memory-unused as in www/index.html, whose comment says why it holds.
    const args = ['-Oz', '--low-memory-unused', ...FEATURES, '--strip-producers', '--strip-target-features'];
    execFileSync('wasm-opt', [...args, input, '-o', output], { stdio: 'inherit' });
    return readFileSync(output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(dir) {
  if (!dir) throw new Error('usage: node scripts/trim-exports.mjs <dist dir>');
  const [glue, wasm] = [glueName(dir), wasmName(dir)];
  const wasmBytes = readFileSync(join(dir, wasm));
  const glueSource = readFileSync(join(dir, glue), 'utf8');
  const { trimmed, dropped, renames } = trimWasm(wasmBytes);
  const newGlue = renameCalls(glueWithoutStreams(glueSource), renames);
  const newWasm = optimize(trimmed);
  const called = new Set([...newGlue.matchAll(/wasm\.(\w+)/g)].map((m) => m[1]));
  const exported = new Set(WebAssembly.Module.exports(new WebAssembly.Module(newWasm)).map((e) => e.name));
  const missing = [...called].filter((name) => !exported.has(name));
  if (missing.length > 0) throw new Error(`the glue uses exports the trimmed wasm lacks: ${missing.join(', ')}`);
  const htmlPath = join(dir, 'index.html');
  let html = readFileSync(htmlPath, 'utf8');
  html = withIntegrity(html, wasm, wasmBytes, newWasm);
  html = withIntegrity(html, glue, Buffer.from(glueSource), Buffer.from(newGlue));
  writeFileSync(join(dir, wasm), newWasm);
  writeFileSync(join(dir, glue), newGlue);
  writeFileSync(htmlPath, html);
  console.error(
    `trimmed exports: ${dropped.length} dropped, ${renames.length} renamed; ${wasm} ${wasmBytes.length} → ` +
      `${newWasm.length} bytes, ${glue} ${Buffer.byteLength(glueSource)} → ${Buffer.byteLength(newGlue)} bytes`,
  );
}

main(process.argv[2]).catch((e) => {
  console.error(`trim-exports: ${e.message}`);
  process.exit(1);
});
