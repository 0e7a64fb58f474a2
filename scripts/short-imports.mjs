// Gives the web app's wasm imports short names (`_0`, `_1`, … `_5n`) in the wasm and in its
// JavaScript glue, renames both files by their new content's hash, and rewrites their names
// and Subresource Integrity in index.html. wasm-bindgen names each import after its function
// plus a hash; those ~200 names cost 5.9 KB gzip across the two files (measured 2026-12-02,
// gzip -9: wasm 588,721 → 585,373 B, glue 7,236 → 4,695 B).
//
//   node scripts/short-imports.mjs dist
//
// Run after scripts/minify-glue.mjs. Each old name must occur exactly once in the glue, as
// the key that supplies it, or nothing is written; the new wasm is compiled and its
// imports and exports checked against the old one's before it replaces it.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentName, glueName, wasmName, withIntegrity } from './dist.mjs';
import { renameImports } from './wasm-imports.mjs';

function glueModule(wasm) {
  const modules = new Set(WebAssembly.Module.imports(wasm).map((i) => i.module).filter((m) => m.endsWith('_bg.js')));
  if (modules.size !== 1) throw new Error(`expected imports from one *_bg.js module, found ${[...modules].join(', ') || 'none'}`);
  return [...modules][0];
}

function checkSameShape(before, after, renames) {
  const renamed = new Map(renames);
  const was = WebAssembly.Module.imports(before);
  const now = WebAssembly.Module.imports(after);
  const same = was.length === now.length && was.every((w, i) =>
    w.module === now[i].module && w.kind === now[i].kind && (renamed.get(w.name) ?? w.name) === now[i].name);
  if (!same) throw new Error('the rewritten wasm does not import what the original did');
  if (JSON.stringify(WebAssembly.Module.exports(before)) !== JSON.stringify(WebAssembly.Module.exports(after))) {
    throw new Error('the rewritten wasm does not export what the original did');
  }
}

function renameInGlue(source, renames) {
  let glue = source;
  for (const [old, renamed] of renames) {
    const pattern = new RegExp(`(?<![\\w$])${old.replace(/\$/g, '\\$')}(?![\\w$])`, 'g');
    const found = glue.match(pattern)?.length ?? 0;
    if (found !== 1) throw new Error(`the glue names import ${old} ${found} times, expected once`);
    glue = glue.replace(pattern, renamed);
  }
  return glue;
}

async function main(dir) {
  if (!dir) throw new Error('usage: node scripts/short-imports.mjs <dist dir>');
  const [glue, wasm] = [glueName(dir), wasmName(dir)];
  const wasmBytes = readFileSync(join(dir, wasm));
  const glueSource = readFileSync(join(dir, glue), 'utf8');
  const before = new WebAssembly.Module(wasmBytes);
  const { wasm: shortWasm, renames } = renameImports(wasmBytes, glueModule(before), (_, i) => `_${i.toString(36)}`);
  checkSameShape(before, new WebAssembly.Module(shortWasm), renames);
  const shortGlue = renameInGlue(glueSource, renames);
  const htmlPath = join(dir, 'index.html');
  let html = readFileSync(htmlPath, 'utf8');
  html = withIntegrity(html, wasm, wasmBytes, shortWasm);
  html = withIntegrity(html, glue, Buffer.from(glueSource), Buffer.from(shortGlue));
  const [newWasm, newGlue] = [contentName(wasm, shortWasm), contentName(glue, shortGlue)];
  for (const [old, renamed] of [[wasm, newWasm], [glue, newGlue]]) {
    if (!html.includes(`/${old}`)) throw new Error(`index.html does not name /${old}`);
    html = html.replaceAll(`/${old}`, `/${renamed}`);
  }
  writeFileSync(join(dir, newWasm), shortWasm);
  writeFileSync(join(dir, newGlue), shortGlue);
  writeFileSync(htmlPath, html);
  for (const [old, renamed] of [[wasm, newWasm], [glue, newGlue]]) if (old !== renamed) rmSync(join(dir, old));
  console.error(
    `short import names for ${renames.length} imports: ${newWasm} ${wasmBytes.length} → ${shortWasm.length} bytes, ` +
      `${newGlue} ${Buffer.byteLength(glueSource)} → ${Buffer.byteLength(shortGlue)} bytes`,
  );
}

main(process.argv[2]).catch((e) => {
  console.error(`short-imports: ${e.message}`);
  process.exit(1);
});
