// Hostile Automerge bytes aimed at a run a browser has open (issue 32, item 1): the 141
// bytes that made Automerge allocate without bound, as a change in a sync message.
// - From a hostile client over the relay's WebSocket (a Node script speaking the
//   automerge-repo protocol): the relay refuses them with an `error` frame and they never
//   reach the browser. The relay runs under a memory cap: without the check it dies.
// - Straight into the browser's own socket (Playwright routes the page's WebSocket to the
//   relay and slips the frame in, as a relay without the check would relay it): the app
//   refuses the message, shows why, redials, and goes on.
// Either way the browser stays responsive and keeps syncing changes made after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from 'cbor-x';
import WebSocket from 'ws';
import { startRelay } from '../interop/relay.mjs';
import { arrive, createRun, graft, person, root, shot, waitForNames, waitForStatus } from './harness.mjs';

const critical = readFileSync(
  join(root, 'core', 'fuzz', 'regressions', 'doc_load', 'crash-f4c8f5c2f530b7e8dd07b4d0cf272ec817a34554'),
);
// A healthy relay runs well inside 3 GiB of address space; Automerge sizing a buffer
// from the hostile bytes does not.
const CAP_BYTES = 3 * 2 ** 30;

/** An Automerge sync message (v1): no heads, needs or haves, and `change` as its one change. */
function syncMessage(change) {
  const length = [];
  for (let n = change.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x42, 0, 0, 0, 1, ...length]), change]);
}

/** The frames of one socket, one at a time; null once it closed. */
function frames(ws) {
  const queue = [];
  const waiting = [];
  const push = (frame) => (waiting.length ? waiting.shift()(frame) : queue.push(frame));
  ws.on('message', (data) => push(decode(data)));
  ws.on('close', () => push(null));
  return (timeout = 10_000) =>
    queue.length
      ? Promise.resolve(queue.shift())
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no frame within 10 s')), timeout);
          waiting.push((frame) => {
            clearTimeout(timer);
            resolve(frame);
          });
        });
}

/** A hostile client: joins, sends `data` as a sync message for `documentId`, and returns the
 *  message of the relay's `error` frame. */
async function hostileSync(wsUrl, documentId, data) {
  const ws = new WebSocket(wsUrl);
  const next = frames(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const me = `hostile-${randomUUID()}`;
  ws.send(encode({ type: 'join', senderId: me, supportedProtocolVersions: ['1'], peerMetadata: {} }));
  const peer = await next();
  assert.equal(peer?.type, 'peer', `handshake: ${JSON.stringify(peer)}`);
  ws.send(encode({ type: 'sync', senderId: me, targetId: peer.senderId, documentId, data }));
  for (;;) {
    const frame = await next();
    assert.ok(frame, 'the relay closed the socket without an error frame');
    if (frame.type === 'error') {
      ws.close();
      return frame.message;
    }
  }
}

async function documentIdOf(relay, runId) {
  const list = await (await fetch(`${relay.http}/api/crdt/runs`)).json();
  const run = list.runs.find((r) => r.runId === runId);
  assert.ok(run, `run ${runId} is not on the relay: ${JSON.stringify(list)}`);
  return run.documentId;
}

async function restGraft(relay, runId, after, agentName) {
  const response = await fetch(`${relay.http}/app/runs/${runId}/graft`, {
    method: 'POST',
    body: JSON.stringify({ after, agentName }),
  });
  assert.equal(response.status, 201, `graft over REST: ${await response.text()}`);
}

/** The page answers script at once and a click on the graft form still works. */
async function assertResponsive(page, agent) {
  const started = Date.now();
  assert.equal(await page.evaluate(() => 6 * 7), 42);
  console.log(`the page answered in ${Date.now() - started} ms`);
  await graft(page, 'plan', agent);
  await waitForNames(page, (n) => n.includes(agent), `the graft ${agent} made by a click`);
}

async function withBrowserOnARun(name, fn) {
  const relay = await startRelay('e2e', {
    args: ['--web-dist', process.env.RUNMESH_WEB_DIST ?? join(root, 'dist')],
    capBytes: CAP_BYTES,
  });
  const someone = await person(name);
  const trapped = [];
  someone.page.on('pageerror', (e) => trapped.push(e.message));
  someone.page.on('crash', () => trapped.push('the page crashed'));
  try {
    await arrive(someone, `${relay.http}/`, name);
    const url = await createRun(someone.page, 'Under attack', 'plan, ship');
    await waitForStatus(someone.page, 'online');
    const runId = url.match(/[0-9a-f-]{36}$/)[0];
    await fn({ relay, page: someone.page, runId, documentId: await documentIdOf(relay, runId) });
    assert.deepEqual(trapped, [], 'the page reported errors');
    assert.equal(relay.ended(), null, 'the relay died');
  } finally {
    await someone.close();
    await relay.stop();
  }
}

test('a hostile client sends the critical bytes over the socket: the relay refuses them, the browser goes on', async () => {
  await withBrowserOnARun('target', async ({ relay, page, runId, documentId }) => {
    const refusal = await hostileSync(relay.ws, documentId, syncMessage(critical));
    assert.match(refusal, /sync message refused before decoding.*bundle/);
    assert.equal(relay.ended(), null, 'the relay died');
    await assertResponsive(page, 'ClickedAfter');
    await restGraft(relay, runId, 'ship', 'RestAfter');
    await waitForNames(page, (n) => n.includes('RestAfter'), 'the REST graft made after the attack');
    // Once stayed "syncing" after both grafts had arrived: the status was not worked out
    // again when the save of a remote change ended (web/src/app/session.rs, persist).
    await waitForStatus(page, 'online');
    await shot(page, 'hostile-client-refused');
  });
});

test('the critical bytes slipped into the browser\'s own socket: refused, shown, and syncing goes on', async () => {
  await withBrowserOnARun('direct', async ({ relay, page, runId, documentId }) => {
    // From now on the page's sockets go through here: frames pass both ways unchanged,
    // and the first socket to carry the page's sync is sent the hostile message.
    let injected = false;
    await page.routeWebSocket(/\/ws$/, (ws) => {
      const server = ws.connectToServer();
      let browser = null;
      let relayPeer = null;
      ws.onMessage((m) => {
        const frame = decode(m);
        if (frame.type === 'join') browser = frame.senderId;
        server.send(m);
        if (!injected && frame.type === 'sync' && browser && relayPeer) {
          injected = true;
          const data = syncMessage(critical);
          ws.send(encode({ type: 'sync', senderId: relayPeer, targetId: browser, documentId, data }));
        }
      });
      server.onMessage((m) => {
        const frame = decode(m);
        if (frame.type === 'peer') relayPeer = frame.senderId;
        ws.send(m);
      });
    });
    // The routed page: reload, so its socket is dialled through the route.
    await page.reload();
    await page.waitForSelector('[data-testid=pipeline] [data-testid=node]');
    await page.waitForSelector('[data-testid=error]:has-text("sync message refused before decoding")');
    assert.ok(injected);
    assert.match(await page.textContent('[data-testid=error]'), /bundle/);
    await waitForStatus(page, 'online');
    await assertResponsive(page, 'ClickedAfterInjection');
    await restGraft(relay, runId, 'ship', 'RestAfterInjection');
    await waitForNames(page, (n) => n.includes('RestAfterInjection'), 'the REST graft made after the injection');
    await shot(page, 'hostile-frame-refused-in-browser');
  });
});
