// A run's past in the app: looking at it as it was after one change (read-only, with what
// changed since), forking it (now, or from a past point) and merging a fork back; and an
// accessibility check (axe-core) of every screen involved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  graft, names, sharedRun, shot, waitForNames, waitForStatus, withPeople,
} from './harness.mjs';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Serious and critical accessibility violations on the page as it is, by rule. */
async function violations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) {
    await page.addScriptTag({ path: axePath });
  }
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

const row = (text) => `[data-testid=history] li:has-text("${text}")`;

test('time travel, fork and merge back, with no serious accessibility violation', async () => {
  await withPeople(async (relay, alice, bob) => {
    const parentUrl = await sharedRun(relay, alice, bob, 'Past run', ['plan', 'build']);
    const page = alice.page;
    assert.deepEqual(await violations(page), [], 'the run view');
    await graft(page, 'plan', 'Alpha');
    await waitForNames(page, (n) => n.includes('Alpha'), 'Alpha');
    await graft(page, 'plan', 'Beta');
    await waitForNames(page, (n) => n.includes('Beta'), 'Beta');
    // From the keyboard: the row is replaced, and its button keeps the focus.
    await page.focus('[data-testid=pipeline] [data-id=build] [data-testid=toggle-prune]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=pipeline] [data-id=build].pruned');
    assert.equal(
      await page.evaluate(() => document.activeElement?.closest('[data-id]')?.dataset.id + ' ' + document.activeElement?.textContent),
      'build Restore',
      'the focus stays on the row it was on',
    );

    // The run as it was after Alpha: no Beta, build not pruned yet (marked so), no edits.
    await page.click(`${row('grafted Alpha')} [data-testid=view-at]`);
    await page.waitForSelector('[data-testid=past-banner]');
    await waitForNames(page, (n) => n.includes('Alpha') && !n.includes('Beta'), 'the past');
    assert.match(await page.textContent('[data-testid=added-since]'), /Beta/);
    assert.equal(
      await page.textContent('[data-testid=pipeline] [data-id=build] [data-testid=since]'),
      'pruned since',
    );
    assert.ok(!(await page.isVisible('[data-testid=graft-submit]')), 'the past is read-only');
    assert.ok(!(await page.isVisible('[data-testid=toggle-prune]')), 'the past is read-only');
    assert.deepEqual(await violations(page), [], 'the past view');
    await shot(page, 'f-past');
    await page.click('[data-testid=back-to-now]');
    await waitForNames(page, (n) => n.includes('Beta'), 'now again');
    assert.ok(await page.isVisible('[data-testid=graft-submit]'));

    // A fork from that past point has Alpha and not Beta.
    await page.click(`${row('grafted Alpha')} [data-testid=view-at]`);
    await page.click('[data-testid=fork-here]');
    await page.waitForURL((url) => url.href !== parentUrl && /\/runs\//.test(url.href));
    await page.waitForSelector('[data-testid=fork-origin]');
    await waitForNames(page, (n) => n.includes('Alpha') && !n.includes('Beta'), 'the fork from the past');
    await page.click('[data-testid=fork-parent]');
    await page.waitForURL(parentUrl);
    await waitForNames(page, (n) => n.includes('Beta'), 'the parent again');

    // A fork of now, changed, then merged back: Bob, on the original, gets the change.
    await page.click('[data-testid=fork]');
    await page.waitForURL((url) => url.href !== parentUrl);
    await page.waitForSelector('[data-testid=fork-origin]');
    const forkUrl = page.url();
    await waitForNames(page, (n) => n.includes('Beta'), 'the fork of now');
    await graft(page, 'plan', 'Gamma');
    await waitForNames(page, (n) => n.includes('Gamma'), 'Gamma in the fork');
    await waitForStatus(page, 'online');
    assert.ok(!(await names(bob.page)).includes('Gamma'), 'a fork is a run of its own');
    assert.deepEqual(await violations(page), [], 'a fork');
    await shot(page, 'g-fork');
    await page.click('[data-testid=merge-back]');
    await page.waitForURL(parentUrl);
    await waitForNames(page, (n) => n.includes('Gamma') && n.includes('Beta'), 'the merge');
    await waitForNames(bob.page, (n) => n.includes('Gamma'), 'the merge to reach bob');
    await page.waitForSelector(`${row('merged')}`);
    assert.ok(!(await page.isVisible('[data-testid=fork-origin]')), 'the original is no fork');

    // The fork itself is unchanged by the merge, and still knows where it came from.
    await page.goto(forkUrl);
    await page.waitForSelector('[data-testid=fork-origin]');
    await page.goto(`${relay.http}/`);
    await page.waitForSelector('[data-testid=create-run]');
    assert.deepEqual(await violations(page), [], 'the run list');
  });
});
