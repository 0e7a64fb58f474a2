// Hostile Automerge bytes through the built package's `load` and `applyChanges` (issue 32,
// item 1). Without the check before parsing (core/src/bounds) the critical input makes
// Automerge size a buffer from its bytes: in wasm that aborts as a trap
// (`RuntimeError: unreachable`), and an instance that trapped mid-call is not safe to
// use again. With the check, every input is an ordinary Error and the module goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runmesh, root } from './package.mjs';

const { RunDoc, init } = runmesh;
await init();

const fuzz = join(root, 'core', 'fuzz');
const critical = readFileSync(join(fuzz, 'regressions', 'doc_load', 'crash-f4c8f5c2f530b7e8dd07b4d0cf272ec817a34554'));

function inputs(...dirs) {
  return dirs.flatMap((dir) =>
    readdirSync(join(fuzz, dir))
      .sort()
      .map((name) => ({ name: `${dir}/${name}`, bytes: readFileSync(join(fuzz, dir, name)) })),
  );
}

function aRun() {
  return RunDoc.create({ title: 'Release', steps: ['plan', 'ship'], region: 'us-east-1', user: 'alice' });
}

/** The package works: a run is created, grafted, saved and loaded again. */
function assertStillWorks() {
  const doc = aRun();
  doc.graft('plan', 'AfterTheAttack');
  const again = RunDoc.load(doc.save());
  assert.deepEqual(
    again.state().grafts.map((g) => g.agentName),
    ['AfterTheAttack'],
  );
}

/** What `fn` threw, which must be an ordinary Error (not a wasm trap). */
function thrown(fn, what) {
  try {
    fn();
  } catch (e) {
    assert.ok(!(e instanceof WebAssembly.RuntimeError), `${what}: the wasm module trapped: ${e}`);
    assert.ok(e instanceof Error, `${what}: threw ${e}`);
    return e;
  }
  return null;
}

test('load and applyChanges refuse the critical bytes with an Error that names the refusal', () => {
  const refused = /refused document bytes \(141 bytes\).*bundle/;
  const fromLoad = thrown(() => RunDoc.load(critical), 'load');
  assert.match(fromLoad?.message ?? 'nothing thrown', refused);

  const doc = aRun();
  doc.graft('plan', 'Before');
  const before = JSON.stringify(doc.state());
  const fromApply = thrown(() => doc.applyChanges(critical), 'applyChanges');
  assert.match(fromApply?.message ?? 'nothing thrown', refused);
  assert.equal(JSON.stringify(doc.state()), before, 'nothing of the refused bytes was applied');

  // The same document and the module go on working.
  doc.graft('ship', 'After');
  assert.deepEqual(
    RunDoc.load(doc.save()).state().grafts.map((g) => g.agentName),
    ['Before', 'After'],
  );
  assertStillWorks();
});

test('no fuzz input makes load or applyChanges trap, and the module works after them all', () => {
  const saved = aRun().save();
  const all = inputs('regressions/doc_load', 'corpus/doc_load');
  assert.ok(all.length > 100, `only ${all.length} inputs`);
  let loaded = 0;
  let applied = 0;
  for (const { name, bytes } of all) {
    if (thrown(() => RunDoc.load(bytes), `load ${name}`) === null) loaded += 1;
    const doc = RunDoc.load(saved);
    if (thrown(() => doc.applyChanges(bytes), `applyChanges ${name}`) === null) applied += 1;
  }
  // The corpus holds real runs too: the check lets sound bytes through.
  assert.ok(loaded > 0, 'no input loaded');
  assert.ok(applied > 0, 'no input applied');
  assertStillWorks();
});

/**
 * A relay that sends a frame larger than a client takes (a hostile one) is refused
 * before the frame is copied into wasm memory, which never shrinks: the socket is closed
 * and the reason is what a waiter hears. (A stand-in socket: no 256 MiB is allocated.)
 */
test('a frame larger than a client takes is refused before it reaches wasm', async () => {
  const sockets = [];
  class HostileRelay {
    constructor(url) {
      this.url = url;
      this.closed = false;
      sockets.push(this);
      setTimeout(() => this.onopen?.(), 0);
    }
    send() {}
    close() {
      if (this.closed) return;
      this.closed = true;
      setTimeout(() => this.onclose?.(), 0);
    }
  }
  const conn = runmesh.connect('ws://127.0.0.1:9/sync', aRun(), { WebSocket: HostileRelay, minDelayMs: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 10));
  const socket = sockets[0];
  assert.ok(socket, 'a socket was opened');
  let copied = false;
  const huge = {
    get byteLength() {
      return 300 * 1024 * 1024;
    },
  };
  const frame = new Proxy(huge, {
    get(target, key) {
      if (key !== 'byteLength') copied = true;
      return Reflect.get(target, key);
    },
  });
  socket.onmessage({ data: frame });
  assert.equal(copied, false, 'the frame was not read');
  assert.ok(socket.closed, 'the socket was closed');
  await assert.rejects(conn.synced({ timeoutMs: 50 }), /more than this client takes/);
  conn.close();
  assertStillWorks();
});
