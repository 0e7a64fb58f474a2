// scripts/glue-exports.mjs on glue shaped as wasm-bindgen 0.2.130 writes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { glueWithoutStreams, renameCalls } from '../glue-exports.mjs';

const glue = `export class IntoUnderlyingSink {
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_intounderlyingsink_free(ptr, 0);
    }
}
if (Symbol.dispose) IntoUnderlyingSink.prototype[Symbol.dispose] = IntoUnderlyingSink.prototype.free;

function adapter(arg0) {
    wasm.wasm_bindgen_0123___convert__closures_____invoke___JsValue______true_(arg0);
}
const IntoUnderlyingSinkFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_intounderlyingsink_free(ptr, 1));
export default __wbg_init;
`;

test('drops the stream classes and their finalizers, and nothing else', () => {
  assert.equal(
    glueWithoutStreams(glue),
    `
function adapter(arg0) {
    wasm.wasm_bindgen_0123___convert__closures_____invoke___JsValue______true_(arg0);
}
export default __wbg_init;
`,
  );
});

test('refuses glue that still names a stream class once they are dropped', () => {
  assert.throws(() => glueWithoutStreams('new IntoUnderlyingSource();\n'), /still names/);
});

test('renames each call once, and refuses a name called twice or never', () => {
  const old = 'wasm_bindgen_0123___convert__closures_____invoke___JsValue______true_';
  assert.match(renameCalls(glue, [[old, 'c0']]), /wasm\.c0\(arg0\)/);
  assert.throws(() => renameCalls(`${glue}wasm.${old}(1);`, [[old, 'c0']]), /2 times/);
  assert.throws(() => renameCalls(glue, [['missing', 'c1']]), /0 times/);
});
