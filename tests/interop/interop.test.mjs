// A stock @automerge/automerge-repo client (pinned in package.json) with its WebSocket
// adapter syncs through the runmesh relay: one creates a document, another finds it and
// sees the first one's later changes live; a run created over REST opens by its
// automerge: URL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as A from '@automerge/automerge';
import { Repo } from '@automerge/automerge-repo';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import { startRelay } from './relay.mjs';

let relay;
const repos = [];

function repo() {
  const r = new Repo({ network: [new WebSocketClientAdapter(relay.ws, 100)] });
  repos.push(r);
  return r;
}

// Waits until the relay holds exactly the heads this handle has (its changes arrived).
async function relayHas(handle) {
  const want = JSON.stringify(A.getHeads(handle.doc()).slice().sort());
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await fetch(`${relay.http}/api/crdt/runs/${handle.documentId}/heads`);
    const { heads } = await res.json();
    if (JSON.stringify(heads.slice().sort()) === want) return;
    if (Date.now() > deadline) throw new Error('the relay never got the changes');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function until(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

before(async () => {
  relay = await startRelay();
});

after(async () => {
  for (const r of repos) await r.shutdown();
  await relay.stop();
});

test('a document created by one stock client is found by another, and later changes arrive live', async () => {
  const alice = repo();
  const handle = alice.create({ title: 'made by a stock client', items: [] });
  handle.change((d) => d.items.push('first'));
  await relayHas(handle);

  const bob = repo();
  const found = await bob.find(handle.url);
  await until('the first change', () => found.doc()?.items?.length === 1);
  assert.equal(found.doc().title, 'made by a stock client');

  const started = Date.now();
  handle.change((d) => d.items.push('second'));
  await until('the live change', () => found.doc().items.length === 2);
  console.log(`live change arrived in ${Date.now() - started} ms`);
  assert.deepEqual([...found.doc().items], ['first', 'second']);

  // And the other way round.
  found.change((d) => { d.by = 'bob'; });
  await until('bob\'s change at alice', () => handle.doc().by === 'bob');
});

test('a run created over REST opens in a stock client by its automerge: URL', async () => {
  const res = await fetch(`${relay.http}/api/crdt/runs`, {
    method: 'POST',
    body: JSON.stringify({ title: 'Interop run', steps: ['step1'] }),
  });
  assert.equal(res.status, 201);
  const { url, runId } = await res.json();
  const carol = repo();
  const handle = await carol.find(url);
  // runmesh writes plain (non-text) strings, which Automerge 3 surfaces as ImmutableString.
  await until('the run title', () => String(handle.doc()?.title) === 'Interop run');
  assert.equal(String(handle.doc().steps[0].id), 'step1');

  // A graft made over REST reaches the stock client live.
  const graft = await fetch(`${relay.http}/app/runs/${runId}/graft`, {
    method: 'POST',
    body: JSON.stringify({ after: 'step1', agentName: 'SecurityAgent' }),
  });
  assert.equal(graft.status, 201);
  const count = () => Object.values(handle.doc().grafts).reduce((n, bucket) => n + Object.keys(bucket).length, 0);
  await until('the REST graft', () => count() === 1);
});

test('finding a document the relay does not have reports it unavailable', async () => {
  const dave = repo();
  await assert.rejects(dave.find('automerge:4NMNnkMhL8jXrdJ9jamS58PAVdXu'), /unavailable/i);
});
