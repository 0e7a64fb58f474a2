// A run of 1,000 grafts in the app: opening it, a local graft, a remote graft and a past
// point, each timed in the page and written to target/e2e-screenshots/large-run.json. The
// figures are reported in docs/web-app.md; this test checks what the screen shows, not
// how fast (a busy machine must not fail it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrive, person, root, shots } from './harness.mjs';
import { startRelay } from '../interop/relay.mjs';

const GRAFTS = Number(process.env.RUNMESH_E2E_GRAFTS ?? 1000);

async function restGraft(relay, run, after, agent) {
  const res = await fetch(`${relay.http}/app/runs/${run}/graft`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ after, agentName: agent }),
  });
  assert.equal(res.status, 201, await res.text());
}

/** Milliseconds from `act` (run in the page) until `done` (polled each frame) holds. */
function timed(page, act, done, arg) {
  return page.evaluate(
    async ([act, done, arg]) => {
      const run = (src) => new Function('arg', src);
      const t0 = performance.now();
      run(act)(arg);
      await new Promise((resolve) => {
        const check = () => (run(done)(arg) ? resolve() : requestAnimationFrame(check));
        check();
      });
      return performance.now() - t0;
    },
    [act, done, arg],
  );
}

const rows = 'return document.querySelectorAll("[data-testid=pipeline] [data-testid=node]").length';
const hasAgent = 'return [...document.querySelectorAll("[data-testid=node-name]")].some((e) => e.textContent === arg)';

test(`a run of ${GRAFTS} grafts: open, graft here, graft elsewhere, look at the past`, async () => {
  const relay = await startRelay('e2e', {
    args: ['--web-dist', process.env.RUNMESH_WEB_DIST ?? join(root, 'dist'), '--rate-limit-per-minute', '100000000'],
  });
  const someone = await person('large');
  try {
    const run = crypto.randomUUID();
    for (let i = 0; i < GRAFTS; i++) await restGraft(relay, run, 'step1', `Agent${i}`);
    const total = GRAFTS + 1; // the run's one step and the grafts
    await arrive(someone, `${relay.http}/`, 'large');
    const page = someone.page;
    const figures = {};

    // Open: from the click on its link until every row is shown.
    await page.goto(`${relay.http}/`);
    await page.waitForSelector('[data-testid=relay-runs] a');
    figures.openMs = await timed(
      page,
      'document.querySelector("[data-testid=relay-runs] a").click()',
      `${rows} >= arg`,
      total,
    );
    // Once more from this device's copy (IndexedDB), by reloading the run's page.
    await page.reload();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=node]').length >= n, total);
    figures.reopenMs = await page.evaluate(() => performance.now());

    // A local graft: from the submit until its row is shown.
    await page.fill('[data-testid=agent-name]', 'LocalAgent');
    figures.localGraftMs = await timed(
      page,
      'document.querySelector("[data-testid=graft-submit]").click()',
      hasAgent,
      'LocalAgent',
    );

    // A remote graft: from the REST call until its row is shown (the page and this process
    // read the same clock). An upper bound on "after it arrives": it includes the relay's
    // work, and the row may show before the relay's answer reaches this process.
    const seen = page.evaluate(
      (name) => new Promise((resolve) => {
        const check = () => ([...document.querySelectorAll('[data-testid=node-name]')].some((e) => e.textContent === name)
          ? resolve(Date.now()) : requestAnimationFrame(check));
        check();
      }),
      'RemoteAgent',
    );
    const sent = Date.now();
    await restGraft(relay, run, 'step1', 'RemoteAgent');
    figures.remoteGraftMs = (await seen) - sent;

    // The past: the run as it was after the 500th graft.
    const entry = `[data-testid=history] li:has-text("grafted Agent${Math.floor(GRAFTS / 2)} after")`;
    while (!(await page.locator(entry).count())) await page.click('[data-testid=history-older]');
    await page.locator(`${entry} [data-testid=view-at]`).scrollIntoViewIfNeeded();
    figures.pastMs = await timed(
      page,
      `document.querySelector('[data-testid=history] li:nth-child(${GRAFTS - Math.floor(GRAFTS / 2) + 2}) [data-testid=view-at]').click()`,
      `return !document.querySelector("[data-testid=past-banner]").hidden && (${rows.replace('return ', '')}) < arg`,
      total,
    );
    const pastRows = await page.evaluate(() => document.querySelectorAll('[data-testid=node]').length);
    assert.ok(pastRows < total && pastRows > 1, `the past has fewer rows: ${pastRows}`);

    writeFileSync(join(shots, 'large-run.json'), `${JSON.stringify({ grafts: GRAFTS, ...figures }, null, 2)}\n`);
    console.log(JSON.stringify({ grafts: GRAFTS, ...figures }));
  } finally {
    await someone.close();
    await relay.stop();
  }
});
