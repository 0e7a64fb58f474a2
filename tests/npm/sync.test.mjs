// connect(): two RunDocs kept in sync through the real relay binary, presence, a run
// the relay lacks, and an edit made offline that reaches the other side on reconnect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { runmesh } from './package.mjs';
import { startRelay } from '../interop/relay.mjs';

const { RunDoc, connect } = runmesh;

function changed(doc) {
  return new Promise((resolve) => {
    const off = doc.onChange((e) => {
      if (!e.local) {
        off();
        resolve();
      }
    });
  });
}

function until(check, what, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

test('two replicas sync through a relay, live, with presence', async () => {
  const relay = await startRelay('npm');
  try {
    const mine = RunDoc.create({ title: 'Shared', steps: ['a', 'b'], region: 'us', user: 'alice' });
    const alice = connect(relay.ws, mine, { WebSocket });
    await alice.synced();
    assert.equal(alice.status, 'synced');
    assert.equal(alice.unacknowledged, 0);

    const bob = connect(relay.ws, mine.runId, { WebSocket, region: 'eu', user: 'bob' });
    await bob.synced();
    assert.deepEqual(bob.doc.state(), mine.state());

    const arrived = changed(bob.doc);
    const id = mine.graft('a', 'SecurityAgent');
    await arrived;
    assert.equal(bob.doc.state().grafts[0].id, id);

    const back = changed(mine);
    bob.doc.setFlag('approved', true);
    await back;
    assert.deepEqual(mine.state().flags, { approved: true });
    await until(() => bob.unacknowledged === 0, 'the relay to acknowledge bob');

    const presence = new Promise((resolve) => bob.onPresence((peer, value) => resolve({ peer, value })));
    assert.equal(alice.sendPresence({ user: 'alice', viewing: 'a' }), true);
    assert.deepEqual(await presence, { peer: alice.peerId, value: { user: 'alice', viewing: 'a' } });
    // Presence the relay would refuse (and close the socket for) is refused here, by name.
    assert.throws(() => alice.sendPresence({ blob: 'x'.repeat(70_000) }), /over the relay's limit of 65536 bytes/);
    assert.equal(alice.status, 'synced');

    alice.close();
    bob.close();
    assert.equal(alice.status, 'closed');
  } finally {
    await relay.stop();
  }
});

test('a run the relay does not have is reported, not created', async () => {
  const relay = await startRelay('npm');
  try {
    const ghost = RunDoc.create().runId;
    const conn = connect(relay.ws, ghost, { WebSocket });
    await assert.rejects(conn.synced(), /is not on the relay/);
    assert.equal(conn.status, 'unavailable');
    conn.close();
    const res = await fetch(`${relay.http}/api/crdt/runs/${ghost}/state`);
    assert.equal(res.status, 404);
  } finally {
    await relay.stop();
  }
});

test('an edit made while the relay is down reaches the other replica after reconnect', async () => {
  let relay = await startRelay('npm');
  const mine = RunDoc.create({ title: 'Offline', steps: ['a'], user: 'alice' });
  const alice = connect(relay.ws, mine, { WebSocket, minDelayMs: 50, maxDelayMs: 200 });
  await alice.synced();
  const { port, dataDir } = relay;
  await relay.stop({ keepData: true });
  await until(() => alice.status === 'offline', 'alice to notice the relay is gone');
  mine.graft('a', 'WrittenOffline');
  assert.equal(alice.unacknowledged, 1);

  relay = await startRelay('npm', { port, dataDir });
  try {
    await until(() => alice.status === 'synced', 'alice to reconnect and sync');
    assert.equal(alice.unacknowledged, 0);
    const bob = connect(relay.ws, mine.runId, { WebSocket });
    await bob.synced();
    assert.deepEqual(
      bob.doc.state().grafts.map((g) => g.agentName),
      ['WrittenOffline'],
    );
    alice.close();
    bob.close();
  } finally {
    await relay.stop();
  }
});
