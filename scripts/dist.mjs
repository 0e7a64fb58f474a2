// The built web app's files, for the build steps that rewrite them after Trunk
// (scripts/minify-glue.mjs, scripts/short-imports.mjs): which file is the JavaScript glue
// and which the wasm, and their Subresource Integrity in index.html, which the browser
// checks before it runs a file, so each rewrite must carry it along.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';

function one(dir, what, test) {
  const found = readdirSync(dir).filter(test);
  if (found.length !== 1) throw new Error(`expected one ${what} in ${dir}, found ${found.join(', ') || 'none'}`);
  return found[0];
}

/** The name of the JavaScript glue wasm-bindgen wrote in `dir`. */
export const glueName = (dir) => one(dir, 'glue script', (name) => name.endsWith('.js') && name !== 'sw.js');

/** The name of the app's wasm in `dir`. */
export const wasmName = (dir) => one(dir, 'wasm module', (name) => name.endsWith('_bg.wasm'));

/**
 * `name` (Trunk's `<stem>-<hash>[_bg].<ext>`, the hash a 64-bit number in hex without its
 * leading zeros: 15 digits or fewer one build in 16) with its hash replaced by one of
 * `data`: the relay serves such names as immutable and the service worker never refetches
 * them, so a file rewritten after Trunk must take a name of its own.
 */
export function contentName(name, data) {
  const hash = createHash('sha256').update(data).digest('hex').slice(0, 16);
  const renamed = name.replace(/-[0-9a-f]{8,16}(?=(?:_bg)?\.[a-z]+$)/, `-${hash}`);
  if (renamed === name && !name.includes(hash)) throw new Error(`${name} has no content hash to replace`);
  return renamed;
}

/** The `integrity` attribute value of `data`. */
export function integrity(data) {
  return `sha384-${createHash('sha384').update(data).digest('base64')}`;
}

/** `html` with the integrity of `before` replaced by that of `after`; throws if absent. */
export function withIntegrity(html, name, before, after) {
  const old = integrity(before);
  if (!html.includes(old)) throw new Error(`index.html does not hold the integrity of ${name}`);
  return html.replace(old, integrity(after));
}
