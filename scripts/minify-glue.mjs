// Minifies the JavaScript glue wasm-bindgen wrote for the web app (Trunk minifies the CSS
// and HTML, not the glue) and rewrites its Subresource Integrity hash in index.html, which
// the browser checks before running it.
//
//   node scripts/minify-glue.mjs dist
//
// Prints the glue's size before and after, in bytes.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { minify } from 'terser';

function integrity(data) {
  return `sha384-${createHash('sha384').update(data).digest('base64')}`;
}

async function main(dir) {
  if (!dir) throw new Error('usage: node scripts/minify-glue.mjs <dist dir>');
  const glue = readdirSync(dir).filter((name) => name.endsWith('.js') && name !== 'sw.js');
  if (glue.length !== 1) throw new Error(`expected one glue script in ${dir}, found ${glue.join(', ') || 'none'}`);
  const path = join(dir, glue[0]);
  const source = readFileSync(path);
  // A module: its exports keep their names (the page imports `default` and the bindings).
  const { code } = await minify(source.toString(), { module: true, ecma: 2020, compress: { passes: 2 } });
  const htmlPath = join(dir, 'index.html');
  const html = readFileSync(htmlPath, 'utf8');
  const before = integrity(source);
  if (!html.includes(before)) throw new Error(`index.html does not hold the integrity of ${glue[0]}`);
  writeFileSync(path, code);
  writeFileSync(htmlPath, html.replace(before, integrity(Buffer.from(code))));
  console.error(`minified ${glue[0]}: ${source.length} → ${Buffer.byteLength(code)} bytes`);
}

main(process.argv[2]).catch((e) => {
  console.error(`minify-glue: ${e.message}`);
  process.exit(1);
});
