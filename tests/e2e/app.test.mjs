// The web app in Debian's Chromium against the real relay serving dist/ (`trunk build`).
// Each "person" is a separate browser profile: its own IndexedDB, service worker and cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  arrive, createRun, graft, names, person, sharedRun, shot, shots, startAppRelay, waitForNames,
  waitForStatus, withPeople,
} from './harness.mjs';

test('a graft in one browser appears in the other, with presence', async () => {
  await withPeople(async (relay, alice, bob) => {
    await arrive(alice, `${relay.http}/`, 'alice');
    await shot(alice.page, 'a-run-list-empty');
    // The relay sends the wasm compressed (scripts/precompress.mjs), not its 1.6 MB raw.
    const wasm = await alice.page.evaluate(() => {
      const entry = performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'));
      return entry && { encoded: entry.encodedBodySize, decoded: entry.decodedBodySize };
    });
    assert.ok(wasm, 'the page loaded a wasm file');
    assert.ok(wasm.encoded > 0 && wasm.encoded < wasm.decoded / 2, `wasm sent compressed: ${JSON.stringify(wasm)}`);
    console.log(`app wasm over the wire: ${wasm.encoded} bytes (${wasm.decoded} decoded)`);
    const url = await createRun(alice.page, 'Release 42', 'plan, build, ship');
    await arrive(bob, url, 'bob');
    await waitForNames(bob.page, (n) => n.join() === 'plan,build,ship', 'bob to receive the run');

    await graft(alice.page, 'plan', 'SecurityAgent');
    const seen = await waitForNames(bob.page, (n) => n.includes('SecurityAgent'), 'the graft to reach bob');
    assert.deepEqual(seen, ['plan', 'SecurityAgent', 'build', 'ship']);
    assert.equal(await bob.page.textContent('[data-testid=run-title]'), 'Release 42');

    // Presence: each sees the other (announced over ephemeral messages).
    await bob.page.waitForSelector('[data-testid=people] li:has-text("alice")');
    await alice.page.waitForSelector('[data-testid=people] li:has-text("bob")');
    // History names who did what.
    await bob.page.waitForSelector('[data-testid=history] li:has-text("grafted SecurityAgent after plan")');

    // Prune and restore from either side reach the other, and each row's button follows
    // its node's state (rows are rebuilt in place as the pipeline changes).
    const node = (name, pruned) =>
      `[data-testid=node]${pruned ? '.pruned' : ':not(.pruned)'}:has([data-testid=node-name]:text-is("${name}"))`;
    const toggle = (page, name) => page.click(`[data-testid=node]:has([data-testid=node-name]:text-is("${name}")) [data-testid=toggle-prune]`);
    await toggle(alice.page, 'SecurityAgent');
    await bob.page.waitForSelector(node('SecurityAgent', true));
    assert.equal(await bob.page.textContent(`${node('SecurityAgent', true)} [data-testid=toggle-prune]`), 'Restore');
    await toggle(bob.page, 'SecurityAgent');
    await alice.page.waitForSelector(node('SecurityAgent', false));
    await toggle(alice.page, 'SecurityAgent');
    await bob.page.waitForSelector(node('SecurityAgent', true));
    assert.deepEqual(await names(bob.page), ['plan', 'SecurityAgent', 'build', 'ship'], 'pruning keeps the place');
    await bob.page.waitForSelector('[data-testid=history] li:has-text("restored")');
    await waitForStatus(alice.page, 'online');
    await shot(alice.page, 'a-live-graft-alice');
    await shot(bob.page, 'a-live-graft-bob');
  });
});

test('offline edit survives an offline reload and reaches the other browser when back online', async () => {
  await withPeople(async (relay, alice, bob) => {
    await sharedRun(relay, alice, bob, 'Offline run', ['plan', 'build']);

    await alice.context.setOffline(true);
    await waitForStatus(alice.page, 'offline');
    await graft(alice.page, 'build', 'WrittenOffline');
    assert.deepEqual(await names(alice.page), ['plan', 'build', 'WrittenOffline'], 'applied at once');
    await alice.page.waitForSelector('[data-testid=pending]:has-text("1 unsent change")');

    // Reload with no network: the service worker serves the app, IndexedDB the run.
    await alice.page.reload();
    await waitForNames(alice.page, (n) => n.includes('WrittenOffline'), 'the offline edit after reload');
    await alice.page.waitForSelector('[data-testid=pending]:has-text("1 unsent change")');
    await waitForStatus(alice.page, 'offline');
    const renderedAt = Number(await alice.page.getAttribute('html', 'data-rendered-at'));
    await shot(alice.page, 'b-offline-after-reload');
    assert.ok(!(await names(bob.page)).includes('WrittenOffline'), 'bob cannot have it yet');

    await alice.context.setOffline(false);
    await waitForNames(bob.page, (n) => n.includes('WrittenOffline'), 'the offline edit to reach bob');
    await waitForStatus(alice.page, 'online');
    assert.equal(await alice.page.locator('[data-testid=pending]').count(), 0, 'nothing left unsent');
    await shot(bob.page, 'b-bob-received');
    writeFileSync(join(shots, 'first-render-offline-ms.txt'), `${renderedAt}\n`);
    console.log(`first render after an offline reload (service worker cache): ${renderedAt} ms after navigation start`);
  });
});

test('concurrent grafts after the same step: both kept, same order in both browsers', async () => {
  await withPeople(async (relay, alice, bob) => {
    await sharedRun(relay, alice, bob, 'Concurrent', ['plan', 'ship']);

    await alice.context.setOffline(true);
    await bob.context.setOffline(true);
    await waitForStatus(alice.page, 'offline');
    await waitForStatus(bob.page, 'offline');
    await graft(alice.page, 'plan', 'AliceAgent');
    await graft(bob.page, 'plan', 'BobAgent');
    for (const [who, value] of [[alice, 'fast'], [bob, 'safe']]) {
      await who.page.fill('[data-testid=flag-key]', 'mode');
      await who.page.fill('[data-testid=flag-value]', value);
      await who.page.click('[data-testid=flag-set]');
    }
    await alice.context.setOffline(false);
    await bob.context.setOffline(false);

    const both = (n) => n.includes('AliceAgent') && n.includes('BobAgent');
    const a = await waitForNames(alice.page, both, 'alice to see both grafts');
    const b = await waitForNames(bob.page, both, 'bob to see both grafts');
    assert.deepEqual(a, b, 'one order everywhere');
    assert.deepEqual(a.filter((n) => n.endsWith('Agent')).length, 2);
    assert.equal(a[0], 'plan');
    assert.equal(a.at(-1), 'ship');
    // The flag set concurrently shows one winner and the other value, the same on both.
    const conflict = '[data-testid=flags] tr.conflict';
    await alice.page.waitForSelector(`${conflict}:has-text("also set to")`);
    await bob.page.waitForSelector(`${conflict}:has-text("also set to")`);
    assert.equal(await alice.page.textContent(conflict), await bob.page.textContent(conflict));
    // Both list the history in one order (received in opposite orders): create, two grafts,
    // two flags.
    const history = async (page) => {
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=history] li').length === 5);
      return page.locator('[data-testid=history] li').allTextContents();
    };
    assert.deepEqual(await history(alice.page), await history(bob.page), 'one history everywhere');
    await shot(alice.page, 'c-concurrent-alice');
    await shot(bob.page, 'c-concurrent-bob');
  });
});

test('undo in one browser takes the graft out in the other; an undo made offline syncs later', async () => {
  await withPeople(async (relay, alice, bob) => {
    await sharedRun(relay, alice, bob, 'Undo run', ['plan', 'build']);
    await graft(alice.page, 'plan', 'Mistake');
    await waitForNames(bob.page, (n) => n.includes('Mistake'), 'the graft to reach bob');

    // Bob undoes Alice's graft: it leaves both pipelines, and both histories say so.
    await bob.page.click('[data-testid=history] li:has-text("grafted Mistake") [data-testid=undo]');
    await waitForNames(bob.page, (n) => !n.includes('Mistake'), 'the undo to apply at once');
    await waitForNames(alice.page, (n) => !n.includes('Mistake'), 'the undo to reach alice');
    await alice.page.waitForSelector('[data-testid=history] li:has-text("retracted graft Mistake")');
    await shot(alice.page, 'd-undone-alice');

    // Offline, Alice undoes the undo; back online, Bob has the graft again.
    await alice.context.setOffline(true);
    await waitForStatus(alice.page, 'offline');
    await alice.page.click('[data-testid=history] li:has-text("retracted graft Mistake") [data-testid=undo]');
    await waitForNames(alice.page, (n) => n.includes('Mistake'), 'the graft back at once, offline');
    assert.ok(!(await names(bob.page)).includes('Mistake'), 'bob cannot have it yet');
    await alice.context.setOffline(false);
    await waitForNames(bob.page, (n) => n.includes('Mistake'), 'the offline undo to reach bob');
    await bob.page.waitForSelector('[data-testid=history] li:has-text("put graft Mistake back")');
    await shot(bob.page, 'd-reinstated-bob');
  });
});

test('on a 390 px wide phone nothing is wider than the screen', async () => {
  const relay = await startAppRelay();
  const phone = await person('phone');
  try {
    await phone.page.setViewportSize({ width: 390, height: 844 });
    await arrive(phone, `${relay.http}/`, 'someone-with-a-long-name');
    await createRun(phone.page, 'A run title long enough to need the whole row', 'plan, build, ship');
    await graft(phone.page, 'plan', 'SecurityAgentWithAVeryLongNameThatMustWrap');
    await waitForNames(phone.page, (n) => n.length === 4, 'the graft');
    const wider = await phone.page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      return [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > width + 0.5)
        .map((e) => `${e.tagName.toLowerCase()}.${e.className} ends at ${Math.round(e.getBoundingClientRect().right)} px`);
    });
    assert.deepEqual(wider, [], 'elements wider than the 390 px screen');
    assert.equal(await phone.page.evaluate(() => document.documentElement.scrollWidth), 390);
    await shot(phone.page, 'e-phone-390');
  } finally {
    await phone.close();
    await relay.stop();
  }
});

test("the relay's runs are listed a page at a time, and open from the list", async () => {
  const relay = await startAppRelay();
  const carol = await person('carol');
  try {
    const ids = [];
    for (let i = 0; i < 25; i++) {
      const id = crypto.randomUUID();
      const res = await fetch(`${relay.http}/app/runs/${id}/graft`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ after: 'step1', agentName: `Agent${i}` }),
      });
      assert.equal(res.status, 201, await res.text());
      ids.push(id);
    }
    // One with a title, which the list shows instead of its id (the others have none).
    const titled = await fetch(`${relay.http}/api/crdt/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Titled on the relay', steps: ['plan'] }),
    });
    assert.equal(titled.status, 201, await titled.text());
    await arrive(carol, `${relay.http}/`, 'carol');
    const listed = () => carol.page.$$eval('[data-testid=relay-runs] a', (as) => as.map((a) => a.textContent));
    await carol.page.waitForSelector('[data-testid=relay-total]:has-text("26 runs you may open, 20 listed")');
    assert.equal((await listed()).length, 20);
    await carol.page.click('[data-testid=relay-more]');
    await carol.page.waitForSelector('[data-testid=relay-total]:has-text("26 listed")');
    assert.deepEqual([...(await listed())].sort(), [...ids, 'Titled on the relay'].sort());
    assert.ok(!(await carol.page.isVisible('[data-testid=relay-more]')), 'no page after the last');
    await carol.page.click(`[data-testid=relay-runs] a:has-text("${ids[3]}")`);
    await waitForNames(carol.page, (n) => n.includes('Agent3'), 'the run from the relay');
  } finally {
    await carol.close();
    await relay.stop();
  }
});
