// The entry for Node: the wasm module is instantiated at import; `init()` is a no-op.
import { readFileSync } from 'node:fs';
import * as wasm from './wasm/runmesh_core.js';
import { makeApi } from './api.js';

wasm.initSync({ module: readFileSync(new URL('./wasm/runmesh_core_bg.wasm', import.meta.url)) });

export function init() {
  return Promise.resolve();
}

const api = makeApi(wasm);
export const { RunDoc, Connection, connect, open } = api;
export { directoryStore } from './directory_store.js';
