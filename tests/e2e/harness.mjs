// Shared set-up for the browser tests: the real relay serving the built app (dist/), and
// Debian's Chromium through playwright-core, one fresh profile per "person".
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startRelay } from '../interop/relay.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const target = resolve(root, process.env.CARGO_TARGET_DIR || 'target');
export const shots = process.env.RUNMESH_SCREENSHOTS ?? join(target, 'e2e-screenshots');
mkdirSync(shots, { recursive: true });

export function startAppRelay() {
  return startRelay('e2e', { args: ['--web-dist', process.env.RUNMESH_WEB_DIST ?? join(root, 'dist')] });
}

/** A browser with its own fresh profile (its own IndexedDB, service worker, cache). */
export async function person(name) {
  const dir = mkdtempSync(join(tmpdir(), `runmesh-e2e-${name}-`));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1200, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error(`[${name}] page error:`, e.message));
  if (process.env.RUNMESH_E2E_CONSOLE) page.on('console', (m) => console.log(`[${name}] ${m.text()}`));
  return {
    name,
    context,
    page,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sets the user's name in the header (stored, used for later edits). */
export async function setUser(page, user) {
  await page.fill('[data-testid=user-name]', user);
  await page.press('[data-testid=user-name]', 'Enter');
  await page.locator('[data-testid=user-name]').evaluate((el) => el.blur());
}

/** Creates a run from the list screen; resolves with its URL once it is open. */
export async function createRun(page, title, steps) {
  await page.fill('[data-testid=new-title]', title);
  await page.fill('[data-testid=new-steps]', steps);
  await page.click('[data-testid=create-run]');
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  await page.waitForSelector('[data-testid=pipeline] [data-testid=node]');
  return page.url();
}

/** Grafts as a person does: "+ after" on the anchor's row, then the agent's name. */
export async function graft(page, after, agent) {
  await page.click(`[data-testid=pipeline] [data-id="${after}"] [data-action=after]`);
  await page.waitForSelector(`[data-testid=graft-after][data-id="${after}"]`);
  await page.fill('[data-testid=agent-name]', agent);
  await page.click('[data-testid=graft-submit]');
}

/** The pipeline's node names, in order. */
export function names(page) {
  return page.$$eval('[data-testid=pipeline] [data-testid=node-name]', (els) => els.map((e) => e.textContent));
}

export async function waitForNames(page, predicate, what, timeout = 15_000) {
  const started = Date.now();
  for (;;) {
    const now = await names(page);
    if (predicate(now)) return now;
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}; pipeline is ${JSON.stringify(now)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitForStatus(page, status, timeout = 15_000) {
  await page.waitForSelector(`[data-testid=net-status]:has-text("${status}")`, { timeout });
}

export async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

export async function withPeople(fn) {
  const relay = await startAppRelay();
  const alice = await person('alice');
  const bob = await person('bob');
  try {
    await fn(relay, alice, bob);
  } finally {
    await alice.close();
    await bob.close();
    await relay.stop();
  }
}

/** Opens the app, names the user, and waits for the service worker to control the page. */
export async function arrive(who, url, user) {
  await who.page.goto(url);
  await who.page.waitForSelector('[data-testid=user-name]');
  await setUser(who.page, user);
  await who.page.evaluate(() => navigator.serviceWorker.ready);
  await who.page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

/** Alice creates a run and is online with it; Bob opens her link and has received it. */
export async function sharedRun(relay, alice, bob, title, steps) {
  await arrive(alice, `${relay.http}/`, 'alice');
  const url = await createRun(alice.page, title, steps.join(', '));
  await waitForStatus(alice.page, 'online');
  await arrive(bob, url, 'bob');
  await waitForNames(bob.page, (n) => n.join() === steps.join(), 'bob to receive the run');
  return url;
}
