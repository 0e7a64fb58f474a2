// open() with a local store: an embedding process killed between an edit and the relay's
// acknowledgement, opened again on the same store, delivers the edit; a store that fails
// holds every change back from the relay until a save succeeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { runmesh } from './package.mjs';
import { startRelay } from '../interop/relay.mjs';

const { RunDoc, connect, open } = runmesh;
const child = join(dirname(fileURLToPath(import.meta.url)), 'store-child.mjs');
// Nothing listens on port 1: a relay that cannot be reached.
const NOWHERE = 'ws://127.0.0.1:1/ws';

/** Runs store-child.mjs; resolves with the process and its first line of output. */
function run(...args) {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`store-child ${args[0]} said nothing in 20 s`));
    }, 20_000);
    createInterface({ input: proc.stdout }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`store-child ${args[0]} exited (${code ?? signal}) before saying anything`));
    });
  });
  return { proc, line };
}

async function agentsOnRelay(relay, runId) {
  const res = await fetch(`${relay.http}/api/crdt/runs/${runId}/state`);
  assert.equal(res.status, 200);
  return (await res.json()).grafts.map((g) => g.agentName);
}

async function putOnRelay(relay) {
  const doc = RunDoc.create({ title: 'Stored', steps: ['a', 'b'] });
  const conn = connect(relay.ws, doc, { WebSocket });
  await conn.synced();
  conn.close();
  return doc.runId;
}

test('a process killed after an edit is stored, before the relay has it, delivers it when opened again', async () => {
  const relay = await startRelay('npm-store');
  const dir = mkdtempSync(join(tmpdir(), 'runmesh-store-'));
  try {
    const runId = await putOnRelay(relay);
    const fetched = run('fetch', relay.ws, runId, dir);
    assert.deepEqual(JSON.parse(await fetched.line), { agents: [] });

    const editor = run('edit', NOWHERE, runId, dir, 'Offline reviewer');
    assert.equal(await editor.line, 'stored');
    const died = new Promise((resolve) => editor.proc.once('exit', (_, signal) => resolve(signal)));
    editor.proc.kill('SIGKILL');
    assert.equal(await died, 'SIGKILL');
    assert.deepEqual(await agentsOnRelay(relay, runId), [], 'the relay never heard of it');

    const again = run('deliver', relay.ws, runId, dir);
    assert.deepEqual(JSON.parse(await again.line), { agents: ['Offline reviewer'] });
    assert.deepEqual(await agentsOnRelay(relay, runId), ['Offline reviewer']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await relay.stop();
  }
});

test('nothing goes to the relay while the store fails, and it all goes once a save succeeds', async () => {
  const relay = await startRelay('npm-store');
  try {
    const runId = await putOnRelay(relay);
    let failing = true;
    const saved = [];
    const store = {
      load: async () => null,
      save: async (id, record) => {
        if (failing) throw new Error('disk full');
        saved.push(record.bytes.length);
      },
    };
    const conn = await open(relay.ws, runId, { store, WebSocket });
    await assert.rejects(conn.synced({ timeoutMs: 1_000 }), /disk full/);
    assert.match(conn.storeError.message, /disk full/);
    // The replica holds the run the relay sent, but nothing it makes may leave.
    conn.doc.graft('a', 'Unsaved');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await agentsOnRelay(relay, runId), []);

    failing = false; // the next retry (1 s) succeeds
    await conn.stored({ timeoutMs: 5_000 });
    await conn.synced({ timeoutMs: 5_000 });
    assert.equal(conn.storeError, null);
    assert.ok(saved.length > 0);
    assert.deepEqual(await agentsOnRelay(relay, runId), ['Unsaved']);
    conn.close();
  } finally {
    await relay.stop();
  }
});

test('open() refuses a store that is not one, and a record that is not a run', async () => {
  await assert.rejects(open(NOWHERE, RunDoc.create().runId, { WebSocket }), /options\.store/);
  const store = { load: async () => ({ bytes: 'nope' }), save: async () => {} };
  await assert.rejects(open(NOWHERE, RunDoc.create().runId, { store, WebSocket }), /Uint8Array/);
});
