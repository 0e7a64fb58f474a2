// Writes a brotli (`.br`, quality 11) and a gzip (`.gz`, Zopfli) copy beside each text or
// wasm file of a built web app, for the relay to serve to clients that accept them
// (relay/src/http/mod.rs). Zopfli writes ordinary gzip that every browser reads, about 5 %
// smaller than `gzip -9`; it is slow (seconds for the wasm), which is fine once per build.
//
//   node scripts/precompress.mjs dist
//
// Prints one line per file: raw, gzip and brotli sizes in bytes.
import { gzipAsync } from '@gfx/zopfli';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import zlib from 'node:zlib';

const COMPRESSIBLE = new Set(['.wasm', '.js', '.mjs', '.css', '.html', '.svg', '.json', '.webmanifest']);
/** Smaller files are served as they are: compression would not pay for the header. */
const MIN_BYTES = 1024;

function brotli(data) {
  const { constants } = zlib;
  return zlib.brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

async function main(dir) {
  if (!dir) throw new Error('usage: node scripts/precompress.mjs <dist dir>');
  const files = readdirSync(dir)
    .filter((name) => COMPRESSIBLE.has(extname(name)))
    .filter((name) => statSync(join(dir, name)).size >= MIN_BYTES);
  for (const name of files) {
    const path = join(dir, name);
    const data = readFileSync(path);
    const gz = Buffer.from(await gzipAsync(data, { numiterations: 15 }));
    const br = brotli(data);
    // Both must give back the file exactly, or the relay would serve something else.
    if (!zlib.gunzipSync(gz).equals(data)) throw new Error(`${name}: gzip copy does not round-trip`);
    if (!zlib.brotliDecompressSync(br).equals(data)) throw new Error(`${name}: brotli copy does not round-trip`);
    writeFileSync(`${path}.gz`, gz);
    writeFileSync(`${path}.br`, br);
    console.error(`precompressed ${name}: ${data.length} raw, ${gz.length} gzip, ${br.length} brotli`);
  }
}

main(process.argv[2]).catch((e) => {
  console.error(`precompress: ${e.message}`);
  process.exit(1);
});
