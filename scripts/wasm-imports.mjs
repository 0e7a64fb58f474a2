// Renames a wasm module's function imports, the one edit scripts/short-imports.mjs makes:
// wasm-bindgen names each import after its JavaScript function plus a 16-digit hash
// (`__wbg_toLocaleTimeString_f4bdd1298bc01606`), ~200 of them, which both the wasm and
// the glue carry and which compress poorly.
//
// Reads and writes the binary format (https://webassembly.github.io/spec/core/binary/):
// sections are an id byte and an LEB128 length; the import section (id 2) lists
// (module, name, kind, description). Only the names change; every other byte is copied.

function readU32(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= bytes.length) throw new Error('the wasm ends inside a number');
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
    if (shift > 28) throw new Error('a number in the wasm is longer than 32 bits');
  }
}

function u32(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readName(bytes, at) {
  const [length, start] = readU32(bytes, at);
  return [utf8.decode(bytes.subarray(start, start + length)), start + length];
}

function name(text) {
  const encoded = new TextEncoder().encode(text);
  return [...u32(encoded.length), ...encoded];
}

/** The end of a table's or memory's limits, which start at `at`. */
function skipLimits(bytes, at) {
  const flags = bytes[at];
  let [, next] = readU32(bytes, at + 1);
  if (flags & 1) [, next] = readU32(bytes, next);
  return next;
}

/** The end of an import's description of kind `kind`, which starts at `at`. */
function skipDescription(bytes, kind, at) {
  switch (kind) {
    case 0: // a function: its type index
      return readU32(bytes, at)[1];
    case 1: // a table: its element type, then limits
      return skipLimits(bytes, at + 1);
    case 2: // a memory: limits
      return skipLimits(bytes, at);
    case 3: // a global: its value type and mutability
      return at + 2;
    case 4: // a tag: an attribute byte and a type index
      return readU32(bytes, at + 1)[1];
    default:
      throw new Error(`unknown import kind ${kind}`);
  }
}

/**
 * `wasm` with each function import from module `from` renamed by `rename(oldName, index)`;
 * returns the new bytes and the renames made, as [old, new] pairs.
 */
export function renameImports(wasm, from, rename) {
  const bytes = new Uint8Array(wasm);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a wasm module');
  }
  const parts = [bytes.subarray(0, 8)];
  const renames = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [length, start] = readU32(bytes, at + 1);
    const end = start + length;
    if (end > bytes.length) throw new Error(`section ${id} runs past the end of the wasm`);
    if (id !== 2) {
      parts.push(bytes.subarray(at, end));
      at = end;
      continue;
    }
    const [count, first] = readU32(bytes, start);
    const body = [Uint8Array.from(u32(count))];
    let entry = first;
    for (let i = 0; i < count; i++) {
      const [module, afterModule] = readName(bytes, entry);
      const [field, afterField] = readName(bytes, afterModule);
      const kind = bytes[afterField];
      const next = skipDescription(bytes, kind, afterField + 1);
      let renamed = field;
      if (module === from && kind === 0) {
        renamed = rename(field, renames.length);
        renames.push([field, renamed]);
      }
      body.push(bytes.subarray(entry, afterModule), Uint8Array.from(name(renamed)), bytes.subarray(afterField, next));
      entry = next;
    }
    if (entry !== end) throw new Error('the import section is longer than its imports');
    const section = Buffer.concat(body);
    parts.push(Uint8Array.from([id, ...u32(section.length)]), section);
    at = end;
  }
  return { wasm: Buffer.concat(parts), renames };
}
