// Edits of the JavaScript glue wasm-bindgen writes, for scripts/trim-exports.mjs: the
// classes that wrap exports being dropped, and calls of exports being renamed.

/** `source` without the `IntoUnderlying*` classes and their finalizers; throws if any name is left. */
export function glueWithoutStreams(source) {
  const glue = source
    .replace(/^export class IntoUnderlying\w+ \{\n[\s\S]*?^\}\n(?:if \(Symbol\.dispose\) IntoUnderlying\w+\.prototype\[[^\n]*\n)?/gm, '')
    .replace(/^const IntoUnderlying\w+Finalization = [^;]*;\n/gm, '');
  if (/intounderlying/i.test(glue)) throw new Error('the glue still names an IntoUnderlying class after removing them');
  return glue;
}

/** `glue` with each call `wasm.<old>(` renamed; each must occur exactly once. */
export function renameCalls(glue, renames) {
  let renamed = glue;
  for (const [old, name] of renames) {
    const found = renamed.split(`wasm.${old}(`).length - 1;
    if (found !== 1) throw new Error(`the glue calls export ${old} ${found} times, expected once`);
    renamed = renamed.replace(`wasm.${old}(`, `wasm.${name}(`);
  }
  return renamed;
}
