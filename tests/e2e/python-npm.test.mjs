// One run, three kinds of client, one relay: the web app in Chromium, the npm package in
// this process and the Python package in a child process graft after the same step at
// the same moment (and Python prunes a step); all three converge to the same run.
// Needs the npm package (scripts/build-npm.sh) and the Python package installed in
// $TARGET_DIR/python/venv (.ci/python.sh), or RUNMESH_PYTHON naming a python that has it.
// Also: the npm directory store and the Python one share a directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { runmesh } from '../npm/package.mjs';
import { arrive, createRun, graft, person, root, startAppRelay, waitForNames, waitForStatus } from './harness.mjs';

const target = resolve(root, process.env.CARGO_TARGET_DIR || 'target');
const python = process.env.RUNMESH_PYTHON ?? join(target, 'python', 'venv', 'bin', 'python');
const child = join(root, 'tests', 'python', 'interop_child.py');

/** The child's output, a line at a time, each within `timeoutMs`. */
function lines(proc, timeoutMs = 30_000) {
  const queue = [];
  const waiting = [];
  createInterface({ input: proc.stdout }).on('line', (l) => (waiting.length ? waiting.shift()(l) : queue.push(l)));
  return () =>
    queue.length
      ? Promise.resolve(queue.shift())
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the Python client said nothing in ${timeoutMs} ms`)), timeoutMs);
          waiting.push((l) => {
            clearTimeout(timer);
            resolve(l);
          });
        });
}

async function until(check, what, timeoutMs = 15_000) {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('Python, npm and a browser edit one run at once and converge', async () => {
  assert.ok(existsSync(python), `${python} is missing: run .ci/python.sh first (or set RUNMESH_PYTHON)`);
  const relay = await startAppRelay();
  const alice = await person('alice');
  let proc;
  let conn;
  try {
    await arrive(alice, `${relay.http}/`, 'alice');
    const url = await createRun(alice.page, 'Three clients', 'plan, build, ship');
    await waitForStatus(alice.page, 'online');
    const runId = url.split('/').pop();

    conn = runmesh.connect(relay.ws, runId, { WebSocket, region: 'us-east-1', user: 'node' });
    await conn.synced();
    proc = spawn(python, [child, relay.ws, runId, 'PythonAgent', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const next = lines(proc);
    assert.equal(await next(), 'ready');

    // All three at once: none has seen another's graft when it makes its own.
    proc.stdin.write('go\n');
    conn.doc.graft('plan', 'NpmAgent');
    await graft(alice.page, 'plan', 'BrowserAgent');

    const fromPython = JSON.parse(await next());
    await until(() => conn.doc.graftCount === 3 && conn.doc.state().prunedSteps.length === 1, 'npm to have every edit');
    await conn.synced();
    const fromNpm = conn.doc.state();
    assert.deepEqual(fromPython, fromNpm, 'Python and npm hold the same run');
    assert.deepEqual(fromNpm.grafts.map((g) => g.agentName).sort(), ['BrowserAgent', 'NpmAgent', 'PythonAgent']);
    assert.deepEqual(fromNpm.prunedSteps.map((p) => p.id), ['ship']);
    const order = fromNpm.pipeline.map((n) => n.name);
    await waitForNames(alice.page, (n) => n.join() === order.join(), `the browser to show ${order.join()}`);
    await alice.page.waitForSelector('[data-testid=node].pruned:has([data-testid=node-name]:text-is("ship"))');
  } finally {
    conn?.close();
    proc?.kill();
    await alice.close();
    await relay.stop();
  }
});

test('a directory the npm package keeps a run in is one the Python package reads and writes', async () => {
  assert.ok(existsSync(python), `${python} is missing: run .ci/python.sh first (or set RUNMESH_PYTHON)`);
  const dir = mkdtempSync(join(tmpdir(), 'runmesh-shared-store-'));
  try {
    const { RunDoc, directoryStore } = runmesh;
    const doc = RunDoc.create({ title: 'Shared directory', steps: ['a'], user: 'node' });
    doc.graft('a', 'FromNode');
    const store = directoryStore(dir);
    await store.save(doc.runId, { bytes: doc.save(), acknowledged: doc.heads() });
    // Python opens what Node saved, grafts, and saves it back in the same layout.
    const script = [
      'import json, sys, runmesh',
      'store = runmesh.DirectoryStore(sys.argv[1])',
      'kept = store.load(sys.argv[2])',
      'doc = runmesh.RunDoc.load(kept.data)',
      'doc.graft("a", "FromPython")',
      'store.save(sys.argv[2], runmesh.StoredRun(doc.save(), kept.acknowledged))',
      'print(json.dumps(kept.acknowledged))',
    ].join('\n');
    const out = execFileSync(python, ['-c', script, dir, doc.runId], { encoding: 'utf8', timeout: 30_000 });
    assert.deepEqual(JSON.parse(out), doc.heads(), 'Python read the acknowledged heads Node stored');
    const back = await store.load(doc.runId);
    const names = RunDoc.load(back.bytes).state().grafts.map((g) => g.agentName).sort();
    assert.deepEqual(names, ['FromNode', 'FromPython']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
