// The simulator's bound on kept record bytes, where a learner looks: the dashboard's Run card and the stream page
// say "Records kept: X MiB of 256.0 MiB" as plain text, growing as a producer writes, without sideways scrolling
// at 1280x720; past the bound the producer's writes fail and its card shows why. Screenshots land in
// tests/e2e/output/records-kept-*.png. Fails on any console error.

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

test('past the bound the producer counts failed writes and shows the bound as its last error', async () => {
  // 4,000 records/s of ~157 counted bytes fill 256 MiB in about 7 simulated minutes.
  await page.click('nav.sidebar a:has-text("kept")');
  await page.waitForSelector('li[data-producer="clickstream"]');
  await speed(1000);
  await play();
  await page.waitForFunction(
    () => /InternalFailure/.test(document.querySelector('li[data-producer="clickstream"] .last-error')?.textContent ?? ''),
    null,
    { timeout: 180_000, polling: 250 },
  );
  await pause();
  const error = await page.textContent('li[data-producer="clickstream"] .last-error');
  assert.match(error, /kinesim keeps at most 268435456 bytes \(256\.0 MiB\)/);
  assert.match(error, /Delete a stream/);
  assert.match(error, /not AWS's/);
  const failed = Number((await page.textContent('li[data-producer="clickstream"] .counts div:nth-child(3) dd')).replace(/[^0-9]/g, ''));
  assert.ok(failed > 0, `failed ${failed}`);
  assert.ok(await keptTenths() >= 2_550, 'nearly all of 256 MiB is kept');
  assert.ok(await page.locator('#records-kept.warn').count() === 1, 'marked when nearly full');
  await assertNoSidewaysScroll('.stream-page .inline-stats');
  await shot('3-full', '#producers-h');
  assert.deepEqual(problems, []);
});
