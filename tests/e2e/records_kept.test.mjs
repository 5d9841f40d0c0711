// The simulator's bound on kept record bytes, where a learner looks: the dashboard's Run card and the stream page
// say "Records kept: X MiB of 256.0 MiB" as plain text, growing as a producer writes, without sideways scrolling
// at 1280x720. Screenshots land in tests/e2e/output/records-kept-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appTour } from './support.mjs';

const tour = appTour('records-kept');
const { problems, shot, speed, play, pause, runFor, assertNoSidewaysScroll } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});
const KEPT = /^(\d+)\.(\d) MiB of 256\.0 MiB$/;
const keptTenths = async () => {
  const text = (await page.textContent('#records-kept')).trim();
  const m = text.match(KEPT);
  assert.ok(m, `records kept reads "${text}"`);
  return Number(m[1]) * 10 + Number(m[2]);
};

test('a new session keeps no records, out of 256 MiB', async () => {
  await page.goto(baseUrl);
  await page.waitForSelector('#create-stream');
  assert.equal((await page.textContent('#records-kept')).trim(), '0.0 MiB of 256.0 MiB');
  assert.match(await page.textContent('#session-h + dl'), /Records kept/);
});

test('the stream page shows records kept growing as a producer writes', async () => {
  await page.fill('#new-stream-name', 'kept');
  await page.fill('#new-stream-shards', '4');
  await page.click('#create-stream');
  await page.waitForSelector('#stream-title');
  await speed(100);
  await play();
  await page.waitForFunction(() => document.querySelector('#stream-status')?.textContent === 'ACTIVE');
  await pause();
  assert.equal(await keptTenths(), 0);
  await page.selectOption('#p-template', 'clickstream');
  await page.fill('#p-rate', '4000');
  await page.selectOption('#p-dist', 'uniform');
  await page.click('#start-producer');
  await page.waitForSelector('li[data-producer="clickstream"]');
  await runFor(20_000);
  const kept = await keptTenths();
  assert.ok(kept > 0, `kept ${kept / 10} MiB`);
  await assertNoSidewaysScroll('.stream-page .inline-stats');
  await shot('1-stream', '.stream-page .page-head');
  // The dashboard counts the same records (the clock is paused).
  await page.goto(`${baseUrl}#/`);
  await page.waitForSelector('#records-kept');
  assert.equal(await keptTenths(), kept);
  await assertNoSidewaysScroll('#session-h + dl');
  await shot('2-dashboard', '#session-h');
  assert.deepEqual(problems, []);
});
