// The entry for browsers and bundlers: call `await init()` once before anything else.
import initWasm, * as wasm from './wasm/runmesh_core.js';
import { makeApi } from './api.js';

let ready;

/** Instantiates the wasm module (fetched next to this file unless given). */
export function init(moduleOrPath) {
  ready ??= initWasm(moduleOrPath === undefined ? undefined : { module_or_path: moduleOrPath });
  return ready.then(() => undefined);
}

const api = makeApi(wasm);
export const { RunDoc, Connection, connect, open } = api;
