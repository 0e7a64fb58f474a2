// Minifies the JavaScript glue wasm-bindgen wrote for the web app (Trunk minifies the CSS
// and HTML, not the glue) and rewrites its Subresource Integrity hash in index.html, which
// the browser checks before running it; then the service worker, which Trunk copies as it
// is, comments and all (1,302 → 743 bytes gzip -9, measured 2026-12-07).
//
//   node scripts/minify-glue.mjs dist
//
// Prints each file's size before and after, in bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { minify } from 'terser';
import { glueName, withIntegrity } from './dist.mjs';

async function main(dir) {
  if (!dir) throw new Error('usage: node scripts/minify-glue.mjs <dist dir>');
  const glue = glueName(dir);
  const path = join(dir, glue);
  const source = readFileSync(path);
  // A module: its exports keep their names (the page imports `default` and the bindings).
  const { code } = await minify(source.toString(), { module: true, ecma: 2020, compress: { passes: 2 } });
  const htmlPath = join(dir, 'index.html');
  const html = withIntegrity(readFileSync(htmlPath, 'utf8'), glue, source, Buffer.from(code));
  writeFileSync(path, code);
  writeFileSync(htmlPath, html);
  console.error(`minified ${glue}: ${source.length} → ${Buffer.byteLength(code)} bytes`);
  // A classic script, not a module: its top-level names stay, as the browser reads none.
  const worker = join(dir, 'sw.js');
  const workerSource = readFileSync(worker, 'utf8');
  const { code: workerCode } = await minify(workerSource, { ecma: 2020, compress: { passes: 2 } });
  writeFileSync(worker, workerCode);
  console.error(`minified sw.js: ${workerSource.length} → ${Buffer.byteLength(workerCode)} bytes`);
}

main(process.argv[2]).catch((e) => {
  console.error(`minify-glue: ${e.message}`);
  process.exit(1);
});
