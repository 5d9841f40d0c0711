// End-to-end test of the built site in Debian's Chromium, driven by playwright-core.
//
// Serves the release build (dist/, or $KINESIM_DIST) as plain static files under a sub-path, the way a project
// page of a code host would, on 127.0.0.1 only. Fails on any console error or uncaught page error.
// Run: npm run e2e (after `trunk build index.html --release`); screenshots land in tests/e2e/output/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OUTPUT, SUB_PATH, serveStatic, launch, watchProblems } from './support.mjs';

const TIMEOUT_MS = 15_000;

let server;
let browser;
let context;
let page;
let baseUrl;
const problems = [];

before(async () => {
  await mkdir(OUTPUT, { recursive: true });
  server = await serveStatic();
  baseUrl = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;
  browser = await launch();
  context = browser.context;
  context.setDefaultTimeout(TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());
  watchProblems(page, problems);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const simMs = async () => Number(await page.getAttribute('#sim-time', 'data-ms'));
const waitForSimMsAbove = (min) =>
  page.waitForFunction((m) => Number(document.querySelector('#sim-time')?.dataset.ms) > m, min);

test('the page loads from a sub-path and shows the clock at zero', async () => {
  const response = await page.goto(baseUrl);
  assert.equal(response.status(), 200);
  await page.waitForSelector('#sim-time');
  // The session opens from IndexedDB first; the controls wait for it.
  await page.waitForSelector('#session-status[data-state="ready"]');
  assert.equal(await page.textContent('#sim-time'), 'T+00:00:00.000');
  assert.equal(await page.textContent('#sim-calendar'), '2026-01-01T00:00:00.000Z');
  assert.equal(await page.textContent('#run-seed'), '1');
  assert.equal(await page.title(), 'kinesim');
});

test('play advances simulated time, pause stops it', async () => {
  await page.click('#play');
  await waitForSimMsAbove(200);
  await page.click('#pause');
  await page.waitForSelector('#play');
  const paused = await simMs();
  await page.waitForTimeout(300);
  assert.equal(await simMs(), paused, 'time stands still while paused');
});

test('step jumps to the next timer, or a second ahead when none is pending', async () => {
  const before = await simMs();
  await page.click('#step');
  await waitForSimMsAbove(before);
  assert.ok((await simMs()) - before <= 1_000, 'a step moves at most a second when nothing is pending');
});

test('every page has an address: the router works under the sub-path', async () => {
  await page.click('nav.sidebar a:has-text("SDK playground")');
  await page.waitForSelector('h1:has-text("AWS SDK playground")');
  assert.match(page.url(), /\/kinesim\/#\/playground$/);
  await page.goto(`${baseUrl}#/sessions`);
  await page.waitForSelector('h1:has-text("Sessions")');
  await page.goto(`${baseUrl}#/no/such/page`);
  await page.waitForSelector('h1:has-text("Nothing here")');
  await page.click('nav.sidebar a:has-text("Dashboard")');
  await page.waitForSelector('#run-seed');
  await page.waitForSelector('#sim-time');
});

test('speed changes how fast simulated time runs', async () => {
  await page.click('button[data-speed="1000"]');
  assert.equal(await page.getAttribute('button[data-speed="1000"]', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('button[data-speed="1"]', 'aria-pressed'), 'false');
  const before = await simMs();
  await page.click('#play');
  // At 1000x, ten simulated seconds take ten real milliseconds of frames.
  await waitForSimMsAbove(before + 10_000);
  await page.click('#pause');
  await page.click('button[data-speed="1"]');
  await mkdir(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, 'shell.png'), fullPage: true });
});

test('a seed restarts the run, and the same seed gives the same run', async () => {
  const hashOf = async (seed) => {
    await page.fill('#seed', String(seed));
    await page.click('#restart');
    await page.waitForFunction((s) => document.querySelector('#run-seed')?.textContent === s, String(seed));
    assert.equal(await simMs(), 0, 'a restart starts from time zero');
    for (let i = 0; i < 25; i += 1) await page.click('#step');
    return page.textContent('#event-hash');
  };
  const first = await hashOf(42);
  const other = await hashOf(7);
  const again = await hashOf(42);
  assert.equal(again, first, 'seed 42 twice gives the same event log');
  assert.notEqual(other, first, 'another seed gives another run');

  await page.fill('#seed', 'not a number');
  await page.click('#restart');
  const alert = await page.textContent('[role="alert"]');
  assert.match(alert, /whole number from 0 to 18446744073709551615/);
  assert.equal(await page.textContent('#run-seed'), '42', 'a bad seed leaves the run alone');
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(problems, []);
});
